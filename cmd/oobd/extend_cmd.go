package main

import (
	"context"
	"fmt"
	"time"

	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/trigger"
)

// runExtend is `oobd extend D`: the running session ends D later, never
// beyond session.max_duration after its start.
func runExtend(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "extend", "--config FILE DURATION\n\n"+
		"Moves the running session's end DURATION (e.g. 30m, 1h) later, never\n"+
		"beyond session.max_duration after its start.\n")
	cfgPath := fs.String("config", defaultConfig(), "the daemon's config `file`")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("want one DURATION, e.g. 'oobd extend 30m'")
	}
	d, err := time.ParseDuration(rest[0])
	if err != nil || d <= 0 {
		return usagef("%q is not a positive duration (e.g. 30m, 1h)", rest[0])
	}
	resp, err := ask(ctx, *cfgPath, control.Request{Verb: trigger.VerbExtend, For: d.String()})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "session extended: it ends %s\n", resp.Until.Local().Format(time.RFC3339))
	return nil
}
