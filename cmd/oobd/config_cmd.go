package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/oobd/oobd/oob/config"
)

// runCheckConfig checks a config the way `oobd run` will, and prints every
// problem (exit 2) or what the config will do (exit 0). It never prints a
// secret.
func runCheckConfig(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "check-config", "--config FILE")
	path := fs.String("config", defaultConfig(), "the config `file` to check")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	cfg, err := config.Load(*path, config.RejectPlaceholders())
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			noun := "problems"
			if len(ps) == 1 {
				noun = "problem"
			}
			return usagef("%d %s in %s:\n%v", len(ps), noun, *path, ps)
		}
		return usagef("%v", err)
	}
	fmt.Fprint(env.stdout, cfg.Summary())
	return nil
}
