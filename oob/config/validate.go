package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oobd/oobd/internal/secretfile"
	"github.com/oobd/oobd/oob/phone"
	"github.com/oobd/oobd/oob/schedule"
	"github.com/oobd/oobd/oob/totp"
	"github.com/oobd/oobd/oob/trigger"
)

var pushoverKey = regexp.MustCompile(`^[A-Za-z0-9]{30}$`)

func (l *loader) validate(c *Config) {
	l.required("state_dir", c.StateDir)
	if c.StateDir != "" && !filepath.IsAbs(c.StateDir) {
		l.add("state_dir", 0, fmt.Sprintf("%q is not an absolute path", c.StateDir))
	}

	// modem
	l.required("modem.port", c.Modem.Port)
	l.positive("modem.baud", c.Modem.Baud)
	l.positiveDuration("modem.command_timeout", c.Modem.CommandTimeout)
	for i, a := range c.Modem.RecoveryCommand {
		if a == "" {
			l.add(fmt.Sprintf("modem.recovery_command[%d]", i), 0, "empty argument")
		}
	}

	// trigger
	if _, err := schedule.Parse(c.Trigger.Schedule); err != nil {
		l.add("trigger.schedule", 0, fmt.Sprintf("bad schedule %q: %v", c.Trigger.Schedule, err))
	}
	if cc := c.Trigger.CountryCode; cc != "" {
		if strings.Trim(cc, "0123456789") != "" || len(cc) > 3 || cc[0] == '0' {
			l.add("trigger.country_code", 0, fmt.Sprintf("%q is not a country calling code (digits, e.g. 46)", cc))
			c.Trigger.CountryCode = ""
		}
	}
	if c.Modem.OwnNumber != "" {
		if e, err := phone.Parse(c.Modem.OwnNumber, c.Trigger.CountryCode); err != nil {
			l.add("modem.own_number", 0, err.Error())
		} else {
			c.Modem.OwnE164 = e
		}
	}
	if len(c.Trigger.Senders) == 0 {
		l.add("trigger.senders", 0, "no senders: nobody could trigger the link")
	}
	seen := map[string]bool{}
	for i, s := range c.Trigger.Senders {
		p := fmt.Sprintf("trigger.senders[%d]", i)
		e, err := phone.Parse(s, c.Trigger.CountryCode)
		if err != nil {
			l.add(p, 0, err.Error())
			continue
		}
		if seen[e] {
			l.add(p, 0, fmt.Sprintf("%s is listed twice", e))
		}
		seen[e] = true
		c.Trigger.Allowlist = append(c.Trigger.Allowlist, e)
	}
	if l.required("trigger.secret_file", c.Trigger.SecretFile) {
		if s, ok := l.secretFile("trigger.secret_file", c.Trigger.SecretFile); ok {
			switch {
			case len(s) == 0:
				l.add("trigger.secret_file", 0, fmt.Sprintf("file %s is empty", c.Trigger.SecretFile))
			case strings.ContainsAny(string(s), " \t\r\n\v\f"):
				l.add("trigger.secret_file", 0, fmt.Sprintf("the secret in %s contains whitespace, which separates the fields of a text", c.Trigger.SecretFile))
			case isVerb(s): // a text "kill" must mean kill
				l.add("trigger.secret_file", 0, fmt.Sprintf("the secret in %s is a verb of the grammar", c.Trigger.SecretFile))
			case len(s) < 8:
				l.warn("trigger.secret_file", fmt.Sprintf("the secret in %s is only %d characters", c.Trigger.SecretFile, len(s)))
			}
			c.Secrets.Trigger = s
		}
	}
	if c.Trigger.TOTPSecretFile != "" {
		if s, ok := l.secretFile("trigger.totp_secret_file", c.Trigger.TOTPSecretFile); ok {
			k, err := totp.Decode(string(s))
			if err != nil {
				l.add("trigger.totp_secret_file", 0, fmt.Sprintf("file %s: %v", c.Trigger.TOTPSecretFile, strings.TrimPrefix(err.Error(), "totp: ")))
			} else {
				c.Secrets.TOTPKey = k
			}
		}
	}
	l.positive("trigger.max_failures", c.Trigger.MaxFailures)
	l.positiveDuration("trigger.lockout", c.Trigger.Lockout)
	l.positiveDuration("trigger.max_age", c.Trigger.MaxAge)

	// link
	if len(c.Link.UpCommand) == 0 || c.Link.UpCommand[0] == "" {
		l.add("link.up_command", 0, "empty: nothing would dial")
	} else if filepath.Base(c.Link.UpCommand[0]) == "pppd" && !slices.Contains(c.Link.UpCommand, "nodetach") {
		// Detached, it leaves the process group oobd stops after a crash.
		l.warn("link.up_command", "pppd without nodetach detaches: oobd could not stop it after a crash; add nodetach")
	}
	l.required("link.interface", c.Link.Interface)
	for i, d := range c.Link.DNS {
		if net.ParseIP(d) == nil {
			l.add(fmt.Sprintf("link.dns[%d]", i), 0, fmt.Sprintf("%q is not an IP address", d))
		}
	}
	l.positive("link.attempts", c.Link.Attempts)
	l.positiveDuration("link.up_timeout", c.Link.UpTimeout)

	// session
	l.positiveDuration("session.duration", c.Session.Duration)
	l.positiveDuration("session.max_duration", c.Session.MaxDuration)
	if c.Session.MaxDuration > 0 && c.Session.Duration > c.Session.MaxDuration {
		l.add("session.duration", 0, fmt.Sprintf("%v is longer than session.max_duration %v", c.Session.Duration, c.Session.MaxDuration))
	}
	if c.Session.DataBudget < 0 {
		l.add("session.data_budget", 0, "negative")
	}

	// tunnel
	if l.required("tunnel.jump_host", c.Tunnel.JumpHost) {
		hp := c.Tunnel.JumpHost
		if _, _, err := net.SplitHostPort(hp); err != nil {
			hp = net.JoinHostPort(hp, "22")
		}
		if err := hostPort(hp, false); err != nil {
			l.add("tunnel.jump_host", 0, err.Error())
		} else {
			c.Tunnel.JumpHost = hp
		}
	}
	l.required("tunnel.user", c.Tunnel.User)
	if l.required("tunnel.identity_file", c.Tunnel.IdentityFile) {
		l.secretFile("tunnel.identity_file", c.Tunnel.IdentityFile)
	}
	if l.required("tunnel.known_hosts", c.Tunnel.KnownHosts) {
		l.regularFile("tunnel.known_hosts", c.Tunnel.KnownHosts)
	}
	l.positiveDuration("tunnel.keepalive", c.Tunnel.Keepalive)
	if len(c.Tunnel.Forwards) == 0 {
		l.add("tunnel.forwards", 0, "no forwards: the tunnel would reach nothing")
	}
	for i, f := range c.Tunnel.Forwards {
		p := fmt.Sprintf("tunnel.forwards[%d]", i)
		if f.Remote == "" {
			l.add(p+".remote", 0, "missing")
		} else if err := hostPort(f.Remote, true); err != nil {
			l.add(p+".remote", 0, err.Error())
		}
		if f.Local == "" {
			l.add(p+".local", 0, "missing")
		} else if err := hostPort(f.Local, false); err != nil {
			l.add(p+".local", 0, err.Error())
		}
	}

	// console
	if c.Console.Device != "" {
		l.positive("console.baud", c.Console.Baud)
		if l.required("console.listen", c.Console.Listen) {
			if err := hostPort(c.Console.Listen, false); err != nil {
				l.add("console.listen", 0, err.Error())
			} else if !loopback(c.Console.Listen) {
				l.warn("console.listen", fmt.Sprintf("%s is not loopback: anyone who reaches it gets the router's console, with no password (keep it on 127.0.0.1 and come in over SSH)", c.Console.Listen))
			}
		}
		if c.Console.History < 0 {
			l.add("console.history", 0, "negative")
		}
		if c.Console.IdleTimeout < 0 {
			l.add("console.idle_timeout", 0, fmt.Sprintf("must be 0s (never) or a positive duration, not %v", c.Console.IdleTimeout))
		}
	}

	// notify
	if po := c.Notify.Pushover; po.Enabled() {
		if l.required("notify.pushover.token_file", po.TokenFile) {
			if s, ok := l.secretFile("notify.pushover.token_file", po.TokenFile); ok {
				if !pushoverKey.Match(s) {
					l.add("notify.pushover.token_file", 0, fmt.Sprintf("file %s does not hold a Pushover API token (30 letters and digits)", po.TokenFile))
				}
				c.Secrets.PushoverToken = s
			}
		}
		if l.required("notify.pushover.user_key", po.UserKey) && !pushoverKey.MatchString(po.UserKey) {
			l.add("notify.pushover.user_key", 0, "not a Pushover user key (30 letters and digits)")
		}
		if po.APIURL != "" {
			u, err := url.Parse(po.APIURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				l.add("notify.pushover.api_url", 0, fmt.Sprintf("%q is not an http(s) URL", po.APIURL))
			}
		}
	}
	for i, s := range c.Notify.SMS {
		e, err := phone.Parse(s, c.Trigger.CountryCode)
		if err != nil {
			l.add(fmt.Sprintf("notify.sms[%d]", i), 0, err.Error())
			continue
		}
		c.Notify.SMSNumbers = append(c.Notify.SMSNumbers, e)
	}

	// health, drill
	if c.Health.Listen != "" {
		if err := hostPort(c.Health.Listen, false); err != nil {
			l.add("health.listen", 0, err.Error())
		}
	}
	if c.Drill.Schedule != "" {
		if _, err := schedule.Parse(c.Drill.Schedule); err != nil {
			l.add("drill.schedule", 0, fmt.Sprintf("bad schedule %q: %v", c.Drill.Schedule, err))
		}
	}

	if l.rejectPlaceholders {
		l.placeholders(c)
	}

	// files and devices
	if !l.noFiles {
		l.stateDir(c.StateDir)
		if c.Modem.PINFile != "" {
			l.secretFile("modem.pin_file", c.Modem.PINFile)
		}
		if c.Modem.Port != "" {
			if _, err := os.Stat(c.Modem.Port); err != nil {
				l.warn("modem.port", fmt.Sprintf("%s is not there (yet): %v", c.Modem.Port, errors.Unwrap(err)))
			}
		}
	}
}

// The placeholders of configs/oobd.example.yaml that no working config
// keeps: its jump host (any reserved example domain, RFC 2606), its sender
// and its Pushover user key.
const (
	ExampleJumpHost = "jump.example.net"
	ExampleSender   = "+46701234567"
	ExampleUserKey  = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
)

// RejectPlaceholders makes the example config's placeholders errors that
// name their key: a config that still has them was copied and never
// finished. check-config uses it; tests and the demo, which borrow the
// example's values, do not.
func RejectPlaceholders() Option { return func(l *loader) { l.rejectPlaceholders = true } }

func (l *loader) placeholders(c *Config) {
	if host, _, err := net.SplitHostPort(c.Tunnel.JumpHost); err == nil && isExampleDomain(host) {
		l.add("tunnel.jump_host", 0, fmt.Sprintf("%s is a placeholder from the example: put your jump host's name here", host))
	}
	for i, s := range c.Trigger.Senders {
		if e, err := phone.Parse(s, c.Trigger.CountryCode); err == nil && e == ExampleSender {
			l.add(fmt.Sprintf("trigger.senders[%d]", i), 0, fmt.Sprintf("%s is the example's placeholder: put your own phone number here", s))
		}
	}
	if c.Notify.Pushover.UserKey == ExampleUserKey {
		l.add("notify.pushover.user_key", 0, "the example's placeholder: put your Pushover user key here (or remove the pushover block)")
	}
}

// isExampleDomain reports a name under the domains reserved for examples.
func isExampleDomain(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, d := range []string{"example.com", "example.net", "example.org", "example"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

func isVerb(s Secret) bool {
	_, ok := trigger.ParseVerb(string(s))
	return ok
}

func (l *loader) required(path, v string) bool {
	if v == "" {
		l.add(path, 0, "missing (required)")
		return false
	}
	return true
}

func (l *loader) positive(path string, v int) {
	if v <= 0 {
		l.add(path, 0, fmt.Sprintf("must be positive, not %d", v))
	}
}

func (l *loader) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		l.add(path, 0, fmt.Sprintf("must be a positive duration, not %v", d))
	}
}

// hostPort checks "host:port"; port 0 is allowed where the server picks.
func hostPort(s string, zeroPort bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if host == "" && !zeroPort {
		return fmt.Errorf("%q has no host", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: bad port %q", s, port)
	}
	if n == 0 && !zeroPort {
		return fmt.Errorf("%q: port 0 is only for remote forwards", s)
	}
	return nil
}

// loopback reports whether a valid host:port listens on loopback only.
func loopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// regularFile checks that path names a readable regular file.
func (l *loader) regularFile(key, path string) (fs.FileInfo, bool) {
	if l.noFiles {
		return nil, false
	}
	fi, err := os.Stat(path)
	if err != nil {
		l.add(key, 0, fmt.Sprintf("file %s: %v", path, errors.Unwrap(err)))
		return nil, false
	}
	if !fi.Mode().IsRegular() {
		l.add(key, 0, fmt.Sprintf("file %s is not a regular file (%v)", path, fi.Mode().Type()))
		return nil, false
	}
	return fi, true
}

// secretFile checks a file holding a secret (regular, no access for group
// or others) and returns its trimmed contents.
func (l *loader) secretFile(key, path string) (Secret, bool) {
	if _, ok := l.regularFile(key, path); !ok {
		return nil, false
	}
	b, err := secretfile.Read(path)
	switch {
	case errors.Is(err, secretfile.ErrUnsafe):
		l.add(key, 0, "file "+path+" is "+strings.TrimPrefix(err.Error(), path+": unsafe secret file: "))
		return nil, false
	case err != nil:
		l.add(key, 0, fmt.Sprintf("file %s: %v", path, errors.Unwrap(err)))
		return nil, false
	}
	return Secret(bytes.TrimSpace(b)), true
}

// stateDir checks that the state directory exists and can be written.
func (l *loader) stateDir(dir string) {
	if dir == "" || !filepath.IsAbs(dir) {
		return
	}
	fi, err := os.Stat(dir)
	if err != nil {
		l.add("state_dir", 0, fmt.Sprintf("directory %s: %v (create it, mode 0700)", dir, errors.Unwrap(err)))
		return
	}
	if !fi.IsDir() {
		l.add("state_dir", 0, fmt.Sprintf("%s is not a directory", dir))
		return
	}
	f, err := os.CreateTemp(dir, ".oobd-check-*")
	if err != nil {
		l.add("state_dir", 0, fmt.Sprintf("directory %s is not writable: %v", dir, errors.Unwrap(err)))
		return
	}
	f.Close()
	os.Remove(f.Name())
}
