package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/state"
)

// runStatus prints what the daemon last wrote to state_dir/state.json.
func runStatus(_ context.Context, env *cmdEnv, args []string) error {
	fset := newFlagSet(env, "status", "--config FILE [--json]")
	path := fset.String("config", defaultConfigPath, "the daemon's config `file`")
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
	view := st.Status(now)
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(view)
	}
	fmt.Fprint(env.stdout, view.Text(now))
	return nil
}
