package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/oobd/oobd/oob/agent"
	"github.com/oobd/oobd/oob/config"
)

// runDaemon is `oobd run`: the agent, until SIGTERM or SIGINT, which tear
// the session down before it exits.
func runDaemon(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "run", "--config FILE [--log-level info]")
	cfgPath := fs.String("config", defaultConfig(), "config `file`")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return usagef("--log-level: %v", err)
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: lv}))
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return usageError{err}
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w.String())
	}
	// The config is read once: a change needs a restart (SIGHUP is caught
	// so that it does not kill the daemon, and says so).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			log.Warn("SIGHUP: the config is read only at start; restart oobd to apply a change (systemctl restart oobd / service oobd restart)")
		}
	}()
	a, err := agent.New(cfg, agent.WithLogger(log), agent.WithVersion(version()))
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
