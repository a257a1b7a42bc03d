package main

import (
	"context"
	"fmt"

	"github.com/oobd/oobd/oob/control"
)

// runUnlock is `oobd unlock`: the running daemon ends the trigger's
// lockout and clears its failures, and its audit log records it.
func runUnlock(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "unlock", "--config FILE\n\n"+
		"Ends the trigger's lockout (after trigger.max_failures wrong texts) and\n"+
		"clears the failures, through the running daemon; the audit log records it.\n")
	cfgPath := fs.String("config", defaultConfig(), "the daemon's config `file`")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	resp, err := ask(ctx, *cfgPath, control.Request{Verb: control.VerbUnlock})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, resp.Message)
	return nil
}
