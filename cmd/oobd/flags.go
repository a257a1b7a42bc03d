package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errHelpShown is returned when --help printed a command's usage.
var errHelpShown = errors.New("help shown")

// newFlagSet makes a flag set for "oobd WORDS" whose errors are usage
// errors and whose --help prints to stdout.
func newFlagSet(env *cmdEnv, words, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("oobd "+words, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(env.stdout, "usage: oobd %s %s\n", words, synopsis)
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args, turning --help into errHelpShown and any other
// problem into a usage error. Flags may follow positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelpShown // the flag package printed the usage
			}
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		// Stop at "--" and take what follows as positional.
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
