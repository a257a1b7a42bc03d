package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// runModemGroup is `oobd modem`: the list of modem subcommands.
func runModemGroup(ctx context.Context, env *cmdEnv, args []string) error {
	return runGroup(ctx, env, "modem", args)
}

// runSMSGroup is `oobd sms`: the list of sms subcommands.
func runSMSGroup(ctx context.Context, env *cmdEnv, args []string) error {
	return runGroup(ctx, env, "sms", args)
}

// runGroup answers a word that only groups subcommands: --help lists
// them; a missing or unknown subcommand is a usage error.
func runGroup(_ context.Context, env *cmdEnv, word string, args []string) error {
	var subs []command
	for _, c := range commands() {
		if strings.HasPrefix(c.words, word+" ") {
			subs = append(subs, c)
		}
	}
	fs := newFlagSet(env, word, "SUBCOMMAND [flags]")
	fs.Usage = func() { printGroupUsage(env.stdout, word, subs) }
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	names := make([]string, len(subs))
	for i, c := range subs {
		names[i] = strings.TrimPrefix(c.words, word+" ")
	}
	if len(rest) == 0 {
		printGroupUsage(env.stderr, word, subs)
		return usagef("want a subcommand: %s", strings.Join(names, ", "))
	}
	return usagef("unknown subcommand %q (want %s)", rest[0], strings.Join(names, ", "))
}

func printGroupUsage(w io.Writer, word string, subs []command) {
	fmt.Fprintf(w, "usage: oobd %s SUBCOMMAND [flags]\n\nsubcommands:\n", word)
	for _, c := range subs {
		fmt.Fprintf(w, "  %-10s %s\n", strings.TrimPrefix(c.words, word+" "), c.summary)
	}
	fmt.Fprintf(w, "\nRun 'oobd %s SUBCOMMAND --help' for its flags.\n", word)
}
