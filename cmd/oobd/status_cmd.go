package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// runStatus prints what the daemon last wrote to state_dir/state.json,
// whether the daemon is running (it asks over the control socket), and
// the health checks: the daemon's own when it answers, else those the
// state file allows. It exits 0 when the daemon answers and every check
// passes, 1 otherwise.
func runStatus(ctx context.Context, env *cmdEnv, args []string) error {
	fset := newFlagSet(env, "status", "--config FILE [--json]")
	path := fset.String("config", defaultConfig(), "the daemon's config `file`")
	asJSON := fset.Bool("json", false, "print one JSON object (times in RFC 3339)")
	rest, err := parseFlags(fset, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	cfg, err := config.Load(*path, config.WithoutFileChecks())
	if err != nil {
		return usagef("%v", err)
	}
	st, err := state.Read(cfg.StateDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no state in %s yet: has 'oobd run' ever run with this config?", cfg.StateDir)
		}
		return err
	}
	now := time.Now()
	view := struct {
		state.Status
		Daemon bool          `json:"daemon_running"`
		Health health.Report `json:"health"`
	}{Status: st.Status(now)}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := control.Do(qctx, control.SocketPath(cfg.StateDir), control.Request{Verb: trigger.VerbStatus})
	cancel()
	switch {
	case err == nil && resp.Health != nil:
		view.Daemon, view.Health = true, *resp.Health
		if resp.State != nil {
			// The daemon's own: state.json has the readings only now and then.
			view.Status = resp.State.Status(now)
		}
	default:
		// No daemon: the checks the state file allows; the loops are
		// not running at all.
		in := st.HealthInput()
		in.StaleLoops = []string{"oobd run"}
		// The schedules' gaps, and whether a console is configured (else
		// a console the file says is not open reads "not configured").
		cfg.HealthSettings(&in, now)
		view.Health = health.Report{Checks: health.Evaluate(in, now)}
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(view); err != nil {
			return err
		}
	} else {
		daemon := "running"
		if !view.Daemon {
			daemon = "NOT running (no answer on " + control.SocketPath(cfg.StateDir) + ")"
		}
		fmt.Fprintf(env.stdout, "daemon:    %s\n", daemon)
		fmt.Fprint(env.stdout, view.Status.Text(now))
		fmt.Fprintln(env.stdout, "checks:")
		for _, c := range view.Health.Checks {
			mark := "✓"
			if !c.OK {
				mark = "✗"
			}
			fmt.Fprintf(env.stdout, "  %s %-15s %s\n", mark, c.Name, c.Detail)
		}
	}
	if !view.Daemon || !view.Health.OK {
		return errQuietFailure
	}
	return nil
}
