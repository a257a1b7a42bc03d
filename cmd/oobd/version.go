package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func runVersion(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "version", "")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "oobd", version())
	return nil
}

// version is the build's module version, else its VCS revision, else
// "(devel)".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return "(devel)"
}
