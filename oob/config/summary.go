package config

import (
	"fmt"
	"strings"
)

// Summary says in a few lines what the config will make oobd do. It never
// includes secrets, only where they come from.
func (c *Config) Summary() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("config %s is valid", c.Path)
	w("  state:    %s", c.StateDir)
	ports := c.Modem.Port
	if c.Modem.SinglePort() {
		ports += " (single port: no SMS while the link is up)"
	} else {
		ports += ", data " + c.Modem.DataPort
	}
	w("  modem:    %s at %d baud", ports, c.Modem.Baud)
	how := "poll " + c.Trigger.Schedule
	if c.Trigger.URC {
		how += ", and at once on a new-message indication"
	}
	w("  trigger:  %s", how)
	w("  senders:  %s", strings.Join(c.Trigger.Allowlist, ", "))
	auth := "secret from " + c.Trigger.SecretFile
	if len(c.Secrets.TOTPKey) > 0 {
		auth += " + TOTP code (" + c.Trigger.TOTPSecretFile + ")"
	}
	w("  auth:     %s; lockout %v after %d failures; texts older than %v ignored", auth, c.Trigger.Lockout, c.Trigger.MaxFailures, c.Trigger.MaxAge)
	w("  link:     %s → %s, %d attempts, %v each, host route %s", strings.Join(c.Link.UpCommand, " "), c.Link.Interface, c.Link.Attempts, c.Link.UpTimeout, onOff(c.Link.PinRoute))
	dns := "as negotiated by PPP"
	if len(c.Link.DNS) > 0 {
		dns = strings.Join(c.Link.DNS, ", ")
	}
	w("  dns:      %s", dns)
	w("  jump:     %s@%s (host key from %s), keepalive %v", c.Tunnel.User, c.Tunnel.JumpHost, c.Tunnel.KnownHosts, c.Tunnel.Keepalive)
	for _, f := range c.Tunnel.Forwards {
		w("  forward:  jump host %s → here %s", f.Remote, f.Local)
	}
	budget := "no data budget"
	if c.Session.DataBudget > 0 {
		budget = "data budget " + c.Session.DataBudget.String()
	}
	w("  session:  %v by default, at most %v, %s", c.Session.Duration, c.Session.MaxDuration, budget)
	if c.Console.Device != "" {
		w("  console:  %s at %d baud on %s, history %s", c.Console.Device, c.Console.Baud, c.Console.Listen, c.Console.History)
	}
	push := "off"
	if c.Notify.Pushover.Enabled() {
		push = "Pushover"
	}
	sms := "requester only"
	if len(c.Notify.SMSNumbers) > 0 {
		sms = "requester + " + strings.Join(c.Notify.SMSNumbers, ", ")
	}
	w("  notify:   push %s; link-down SMS to %s", push, sms)
	if c.Health.Listen != "" {
		w("  health:   http://%s/healthz", c.Health.Listen)
	}
	if c.Drill.Schedule != "" {
		w("  drill:    %s", c.Drill.Schedule)
	}
	for _, p := range c.Warnings {
		w("warning: %s", p)
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
