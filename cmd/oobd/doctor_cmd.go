package main

import (
	"context"

	"github.com/oobd/oobd/oob/doctor"
)

// runDoctor is `oobd doctor`: everything a session needs, checked without
// dialing, each with its fix. It exits 1 when a check fails (a config
// problem included: it is one of the checks), 0 otherwise.
func runDoctor(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "doctor", "--config FILE [--timeout D]\n\n"+
		"Checks everything a session needs without dialing: the config, the modem\n"+
		"and its SIM (from the daemon's state when it runs), the pppd peer file and\n"+
		"chat script, the identity key (with the authorized_keys line for the jump\n"+
		"host), the jump host's key and the forwards' targets (when reachable over\n"+
		"the LAN), Pushover and the clock. Each line is ✓, ✗ with the fix, or –\n"+
		"(skipped, with why). Run it as root.\n")
	cfgPath := fs.String("config", defaultConfig(), "the config `file` to check")
	timeout := fs.Duration("timeout", doctor.DefaultTimeout, "how long each network check may take")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *timeout <= 0 {
		return usagef("--timeout %s: must be positive", *timeout)
	}
	d := doctor.System(*cfgPath)
	d.Timeout = *timeout
	rep := d.Run(ctx)
	if err := rep.WriteText(env.stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return errQuietFailure
	}
	return nil
}
