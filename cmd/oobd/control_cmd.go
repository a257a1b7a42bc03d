package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/trigger"
)

// The local operator's commands talk to the running daemon through its
// control socket in state_dir.

func runUp(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "up", "--config FILE [--for DURATION]")
	cfgPath := fs.String("config", defaultConfig(), "the daemon's config `file`")
	d := fs.Duration("for", 0, "how long the session lasts (default: session.duration)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	req := control.Request{Verb: trigger.VerbUp}
	if *d > 0 {
		req.For = d.String()
	}
	resp, err := ask(ctx, *cfgPath, req)
	if err != nil {
		return err
	}
	if resp.Message != "" {
		fmt.Fprintln(env.stdout, resp.Message)
	}
	fmt.Fprintf(env.stdout, "session up until %s\n", resp.Until.Local().Format(time.RFC3339))
	for _, f := range resp.Forwards {
		fmt.Fprintf(env.stdout, "forward %s (bound port %d) -> %s\n", f.Remote, f.BoundPort, f.Local)
	}
	if line := notify.SSHLine(resp.JumpHost, resp.Forwards, ""); line != "" {
		fmt.Fprintf(env.stdout, "log in: %s\n", line)
	}
	return nil
}

func runDown(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "down", "--config FILE")
	cfgPath := fs.String("config", defaultConfig(), "the daemon's config `file`")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	resp, err := ask(ctx, *cfgPath, control.Request{Verb: trigger.VerbDown})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, resp.Message)
	return nil
}

func runDrill(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "drill", "--config FILE")
	cfgPath := fs.String("config", defaultConfig(), "the daemon's config `file`")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	resp, err := ask(ctx, *cfgPath, control.Request{Verb: control.VerbDrill})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, resp.Message)
	return nil
}

// ask sends req to the daemon that runs with the config at path. A failed
// request comes back as an error saying at which step and why.
func ask(ctx context.Context, path string, req control.Request) (control.Response, error) {
	cfg, err := config.Load(path, config.WithoutFileChecks())
	if err != nil {
		return control.Response{}, usageError{err}
	}
	resp, err := control.Do(ctx, control.SocketPath(cfg.StateDir), req)
	if err != nil {
		if errors.Is(err, control.ErrNoDaemon) {
			return resp, fmt.Errorf("%w: start it with 'oobd run --config %s' or the service", err, path)
		}
		return resp, err
	}
	if !resp.OK {
		if resp.Step != "" {
			return resp, fmt.Errorf("failed at %s: %s", resp.Step, resp.Error)
		}
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
