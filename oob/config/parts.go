package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/schedule"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/trigger"
	"github.com/oobd/oobd/tunnel"
)

// The settings each part of the agent takes, from the config: the parts
// know nothing of oobd.yaml, and the agent only hands these over.

// TriggerSettings are the trigger's knobs.
func (c *Config) TriggerSettings() trigger.Settings {
	return trigger.Settings{
		Secret:          c.Secrets.Trigger.Bytes(),
		TOTPKey:         c.Secrets.TOTPKey.Bytes(),
		Allowlist:       c.Trigger.Allowlist,
		CountryCode:     c.Trigger.CountryCode,
		MaxFailures:     c.Trigger.MaxFailures,
		Lockout:         c.Trigger.Lockout,
		MaxAge:          c.Trigger.MaxAge,
		DefaultDuration: c.Session.Duration,
		MaxDuration:     c.Session.MaxDuration,
		SecretFile:      c.Trigger.SecretFile,
		TOTPFile:        c.Trigger.TOTPSecretFile,
	}
}

// TunnelConfig is the reverse tunnel's configuration.
func (c *Config) TunnelConfig(log *slog.Logger) tunnel.Config {
	return tunnel.Config{
		JumpHost:       c.Tunnel.JumpHost,
		User:           c.Tunnel.User,
		IdentityFile:   c.Tunnel.IdentityFile,
		KnownHostsFile: c.Tunnel.KnownHosts,
		Keepalive:      c.Tunnel.Keepalive,
		Forwards:       c.Tunnel.Forwards,
		Logger:         log,
	}
}

// SessionConfig is the session lifecycle's configuration.
func (c *Config) SessionConfig() session.Config {
	return session.Config{
		Duration:    c.Session.Duration,
		MaxDuration: c.Session.MaxDuration,
		DataBudget:  uint64(c.Session.DataBudget),
	}
}

// ModemOptions are the modem's options; mem keeps what it must not forget
// across restarts.
func (c *Config) ModemOptions(mem modem.Memory, log *slog.Logger) []modem.Option {
	opts := []modem.Option{
		modem.WithBaud(c.Modem.Baud),
		modem.WithCommandTimeout(c.Modem.CommandTimeout),
		modem.WithIndications(c.Trigger.URC),
		modem.WithMemory(mem),
		modem.WithLogger(log),
	}
	if c.Modem.PINFile != "" {
		opts = append(opts, modem.WithPINFile(c.Modem.PINFile))
	}
	if len(c.Modem.RecoveryCommand) > 0 {
		opts = append(opts, modem.WithRecoveryCommand(c.Modem.RecoveryCommand))
	}
	return opts
}

// InboxOptions are the inbox's options.
func (c *Config) InboxOptions(log *slog.Logger) []inbox.Option {
	return []inbox.Option{inbox.WithSchedule(c.Trigger.Schedule), inbox.WithIndications(c.Trigger.URC),
		inbox.WithHandOver(c.Modem.SinglePort()), inbox.WithLogger(log)}
}

// PushoverConfig is the push notifier's configuration.
func (c *Config) PushoverConfig() notify.PushoverConfig {
	return notify.PushoverConfig{
		TokenFile: c.Notify.Pushover.TokenFile,
		UserKey:   c.Notify.Pushover.UserKey,
		APIURL:    c.Notify.Pushover.APIURL,
	}
}

// LinkConfig is the cellular link's configuration.
func (c *Config) LinkConfig() (link.Config, error) {
	lc := link.Config{
		UpCommand: c.Link.UpCommand,
		Interface: c.Link.Interface,
		Attempts:  c.Link.Attempts,
		UpTimeout: c.Link.UpTimeout,
		PinRoute:  c.Link.PinRoute,
		JumpHost:  c.Tunnel.JumpHost,
	}
	for _, s := range c.Link.DNS {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return link.Config{}, fmt.Errorf("link.dns: %q: %w", s, err)
		}
		lc.DNS = append(lc.DNS, ip)
	}
	return lc, nil
}

// ConsoleConfig is the console bridge's configuration; its log goes to
// state_dir/console.log, rotated at 10 MB.
func (c *Config) ConsoleConfig() console.Config {
	return console.Config{
		Device: c.Console.Device, Baud: c.Console.Baud, Listen: c.Console.Listen,
		History: int(c.Console.History), IdleTimeout: c.Console.IdleTimeout,
		LogFile: filepath.Join(c.StateDir, "console.log"), LogMax: 10 << 20,
	}
}

// HealthSettings fills in what the health checks take from the config:
// the poll's and the drill's longest gaps over the next day, and whether
// a console is configured.
func (c *Config) HealthSettings(in *health.Input, now time.Time) {
	in.Poll.LongestGap, _ = schedule.Longest(c.Trigger.Schedule, now, 24*time.Hour)
	in.Console.Configured = c.Console.Device != ""
	if spec := c.Drill.Schedule; spec != "" {
		in.Drill.Configured = true
		in.Drill.Period, _ = schedule.Longest(spec, now, 24*time.Hour)
	}
}
