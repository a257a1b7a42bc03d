package main

import (
	"context"
	"io"
	"time"

	"github.com/oobd/oobd/oob/demo"
)

// runDemo is `oobd demo`: the whole lifecycle on this machine.
func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "demo", "[--for 20s] [--dir DIR] [--verbose]")
	d := fs.Duration("for", 20*time.Second, "how long the demo's session stays up")
	dir := fs.String("dir", "", "keep the demo's config, keys and state in this `directory` (default: a temporary one, removed after)")
	verbose := fs.Bool("verbose", false, "also print the agent's own log")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var log io.Writer
	if *verbose {
		log = env.stderr
	}
	return demo.Run(ctx, env.stdout, demo.Options{Duration: *d, Dir: *dir, Log: log})
}
