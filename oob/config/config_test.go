package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testSecret = "s3cret-Tr1gger"
	testTOTP   = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
	testToken  = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
)

// setup makes a directory with the files a config names and returns it.
func setup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"secret":         testSecret + "\n",
		"totp":           testTOTP + "\n",
		"pushover.token": testToken + "\n",
		"id_ed25519":     "-----BEGIN OPENSSH PRIVATE KEY-----\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte("jump.example.net ssh-ed25519 AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fixture reads testdata/name with DIR replaced, edited by the replacer
// pairs (old, new), and writes it into dir.
func fixture(t *testing.T, dir, name string, edits ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "DIR", dir)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("fixture %s has no %q", name, edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(dir, "oobd.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFull(t *testing.T) {
	dir := setup(t)
	c, err := Load(fixture(t, dir, "full.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := c.Trigger.Allowlist, []string{"+46701234567", "+46709999999", "+46701112222"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Allowlist = %v, want %v", got, want)
	}
	if string(c.Secrets.Trigger) != testSecret {
		t.Errorf("secret not read and trimmed: %q", string(c.Secrets.Trigger))
	}
	if string(c.Secrets.TOTPKey) != "12345678901234567890" {
		t.Errorf("TOTP key = %q", string(c.Secrets.TOTPKey))
	}
	if string(c.Secrets.PushoverToken) != testToken {
		t.Errorf("token = %q", string(c.Secrets.PushoverToken))
	}
	if c.Session.DataBudget != 50_000_000 || c.Console.History != 256*1024 {
		t.Errorf("sizes: budget %d history %d", c.Session.DataBudget, c.Console.History)
	}
	if c.Trigger.Lockout != time.Hour || c.Modem.CommandTimeout != 5*time.Second {
		t.Errorf("durations: %v %v", c.Trigger.Lockout, c.Modem.CommandTimeout)
	}
	if c.Modem.SinglePort() {
		t.Error("two-port modem read as single-port")
	}
	if len(c.Tunnel.Forwards) != 2 || c.Tunnel.Forwards[1].Remote != "localhost:0" {
		t.Errorf("forwards = %+v", c.Tunnel.Forwards)
	}
	if fmt.Sprint(c.Notify.SMSNumbers) != "[+46702223333]" {
		t.Errorf("notify numbers = %v", c.Notify.SMSNumbers)
	}
	// Secrets never format.
	for _, s := range []string{fmt.Sprint(c.Secrets), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c.Secrets), fmt.Sprintf("%x", c.Secrets.Trigger)} {
		if strings.Contains(s, testSecret) || strings.Contains(s, testToken) {
			t.Errorf("secret leaked in %q", s)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	dir := setup(t)
	path := fixture(t, dir, "minimal.yaml")
	for _, tt := range []struct {
		goos, iface, dialer string
	}{
		{"linux", "ppp0", "pppd"},
		{"freebsd", "tun0", "ppp"},
	} {
		c, err := Load(path, WithGOOS(tt.goos))
		if err != nil {
			t.Fatalf("%s: %v", tt.goos, err)
		}
		if c.Link.Interface != tt.iface || c.Link.UpCommand[0] != tt.dialer {
			t.Errorf("%s: interface %q dialer %q", tt.goos, c.Link.Interface, c.Link.UpCommand[0])
		}
		if c.Trigger.Schedule != "@every 1m" || !c.Trigger.URC || c.Trigger.MaxFailures != 5 ||
			c.Trigger.MaxAge != 15*time.Minute || c.Session.Duration != 30*time.Minute ||
			c.Session.MaxDuration != 4*time.Hour || c.Session.DataBudget != 50e6 ||
			c.Link.Attempts != 3 || !c.Link.PinRoute || c.Tunnel.Keepalive != 15*time.Second ||
			c.Modem.Baud != 115200 || c.Tunnel.User != "oob" {
			t.Errorf("%s: defaults not applied: %+v", tt.goos, c)
		}
		if c.Tunnel.JumpHost != "jump.example.net:22" {
			t.Errorf("jump host port not defaulted: %q", c.Tunnel.JumpHost)
		}
		if !c.Modem.SinglePort() || len(c.Secrets.TOTPKey) != 0 || c.Notify.Pushover.Enabled() {
			t.Errorf("optional parts on: %+v", c)
		}
	}
}

// TestLoadErrors has one case per class of problem; each must name the
// key path (and the file, for file problems).
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		edits []string
		setup func(t *testing.T, dir string)
		want  []string // substrings of the problems, in order
	}{
		{name: "unknown top-level key", file: "minimal.yaml", edits: []string{"modem:", "stat_dir: /x\nmodem:"},
			want: []string{"oobd.yaml:2: stat_dir: unknown key"}},
		{name: "unknown nested key", file: "full.yaml", edits: []string{"    local: localhost:22", "    local: localhost:22\n      lcoal: x"},
			want: []string{":39: tunnel.forwards[0].lcoal: unknown key"}},
		{name: "bad duration", file: "full.yaml", edits: []string{"lockout: 1h", "lockout: 1 hour"},
			want: []string{":17: trigger.lockout: bad duration \"1 hour\""}},
		{name: "duration without unit", file: "full.yaml", edits: []string{"keepalive: 15s", "keepalive: 15"},
			want: []string{"tunnel.keepalive: want a duration with a unit"}},
		{name: "bad size", file: "full.yaml", edits: []string{"data_budget: 50MB", "data_budget: 50 bananas"},
			want: []string{"session.data_budget: bad size \"50 bananas\""}},
		{name: "wrong type", file: "full.yaml", edits: []string{"baud: 115200", "baud: fast"},
			want: []string{":5: modem.baud: cannot unmarshal !!str `fast` into int"}},
		{name: "list expected", file: "full.yaml", edits: []string{"up_command: [pppd, call, oob, nodetach]", "up_command: pppd call oob"},
			want: []string{"link.up_command: want a list"}},
		{name: "mapping expected", file: "full.yaml", edits: []string{"health:\n  listen: \"\"", "health: on"},
			want: []string{"health: want a mapping"}},
		{name: "missing required", file: "minimal.yaml", edits: []string{"  port: /dev/ttyUSB2\n", ""},
			want: []string{"modem.port: missing (required)"}},
		{name: "bad forward", file: "full.yaml", edits: []string{"remote: localhost:0", "remote: localhost"},
			want: []string{":39: tunnel.forwards[1].remote: \"localhost\" is not host:port"}},
		{name: "local port zero", file: "full.yaml", edits: []string{"local: localhost:22", "local: localhost:0"},
			want: []string{"tunnel.forwards[0].local: \"localhost:0\": port 0"}},
		{name: "bad schedule", file: "full.yaml", edits: []string{"schedule: \"@every 1m\"", "schedule: \"every minute\""},
			want: []string{":10: trigger.schedule: bad schedule"}},
		{name: "national sender without country code", file: "full.yaml", edits: []string{"country_code: \"46\"", "country_code: \"\""},
			want: []string{"trigger.senders[2]: \"0701112222\" is a national number"}},
		{name: "bad country code", file: "full.yaml", edits: []string{"country_code: \"46\"", "country_code: \"+46\""},
			want: []string{"trigger.country_code: \"+46\" is not a country calling code"}},
		{name: "missing file", file: "full.yaml", setup: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "id_ed25519")) },
			want: []string{"tunnel.identity_file: file " + "DIR/id_ed25519: no such file"}},
		{name: "secret readable by others", file: "full.yaml", setup: func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "secret"), 0o644) },
			want: []string{"trigger.secret_file: file DIR/secret is accessible by group or others (mode 0644)"}},
		{name: "token readable by group", file: "full.yaml", setup: func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "pushover.token"), 0o640) },
			want: []string{"notify.pushover.token_file: file DIR/pushover.token is accessible by group or others (mode 0640)"}},
		{name: "not a regular file", file: "full.yaml", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "known_hosts"))
			os.Mkdir(filepath.Join(dir, "known_hosts"), 0o700)
		}, want: []string{"tunnel.known_hosts: file DIR/known_hosts is not a regular file"}},
		{name: "empty secret", file: "full.yaml", setup: func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "secret"), []byte(" \n"), 0o600) },
			want: []string{"trigger.secret_file: file DIR/secret is empty"}},
		{name: "secret with a space", file: "full.yaml", setup: func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "secret"), []byte("two words\n"), 0o600)
		},
			want: []string{"trigger.secret_file: the secret in DIR/secret contains whitespace"}},
		{name: "bad totp", file: "full.yaml", setup: func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "totp"), []byte("not base32!\n"), 0o600)
		},
			want: []string{"trigger.totp_secret_file: file DIR/totp: key is not base32"}},
		{name: "state dir missing", file: "full.yaml", setup: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "state")) },
			want: []string{"state_dir: directory DIR/state: no such file"}},
		{name: "state dir not a directory", file: "full.yaml", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "state"))
			os.WriteFile(filepath.Join(dir, "state"), nil, 0o600)
		}, want: []string{"state_dir: DIR/state is not a directory"}},
		{name: "bad pushover key", file: "full.yaml", edits: []string{"user_key: uQiRzpo4DXghDmr9QzzfQu27cmVRsG", "user_key: short"},
			want: []string{"notify.pushover.user_key: not a Pushover user key"}},
		{name: "duration longer than max", file: "full.yaml", edits: []string{"duration: 30m", "duration: 5h"},
			want: []string{"session.duration: 5h0m0s is longer than session.max_duration 4h0m0s"}},
		{name: "bad dns", file: "full.yaml", edits: []string{"dns: [9.9.9.9]", "dns: [9.9.9.9, dns.example]"},
			want: []string{"link.dns[1]: \"dns.example\" is not an IP address"}},
		{name: "duplicate key", file: "full.yaml", edits: []string{"  attempts: 3", "  attempts: 3\n  attempts: 4"},
			want: []string{"link.attempts: duplicate key (first on line 23)"}},
		{name: "yaml syntax", file: "full.yaml", edits: []string{"  baud: 115200", "  baud: [115200"},
			want: []string{"YAML syntax"}},
		{name: "negative number", file: "full.yaml", edits: []string{"max_failures: 5", "max_failures: 0"},
			want: []string{"trigger.max_failures: must be positive, not 0"}},
		{name: "every problem, not only the first", file: "full.yaml",
			edits: []string{"baud: 115200", "baud: fast", "lockout: 1h", "lockout: soon", "remote: localhost:0", "remote: nowhere", "modem:", "extra: 1\nmodem:"},
			setup: func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "secret"), 0o604) },
			want:  []string{"extra: unknown key", "modem.baud:", "trigger.lockout: bad duration", "tunnel.forwards[1].remote:"}},
		{name: "every problem after decoding", file: "full.yaml",
			edits: []string{"max_failures: 5", "max_failures: -1", "remote: localhost:0", "remote: nowhere"},
			setup: func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "secret"), 0o604) },
			want:  []string{"trigger.secret_file: file DIR/secret is accessible", "trigger.max_failures: must be positive", "tunnel.forwards[1].remote:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			_, err := Load(fixture(t, dir, tt.file, tt.edits...))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load error = %v, want Problems", err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "DIR", dir)
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("problems lack %q (in order):\n%s", w, msg)
				}
				at += i + len(w)
			}
			for _, p := range ps {
				if p.File == "" {
					t.Errorf("problem without file: %v", p)
				}
			}
			if strings.Contains(msg, testSecret) || strings.Contains(msg, testToken) {
				t.Errorf("a secret is in the problems:\n%s", msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml: cannot read config") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyConfig(t *testing.T) {
	_, err := Parse("empty.yaml", nil, WithoutFileChecks())
	for _, w := range []string{"modem.port: missing", "trigger.senders: no senders", "trigger.secret_file: missing", "tunnel.jump_host: missing", "tunnel.forwards: no forwards"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("empty config: want %q in %v", w, err)
		}
	}
}

func TestSummary(t *testing.T) {
	dir := setup(t)
	c, err := Load(fixture(t, dir, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Summary()
	for _, w := range []string{
		"senders:  +46701234567, +46709999999, +46701112222",
		"poll @every 1m, and at once on a new-message indication",
		"+ TOTP code",
		"lockout 1h0m0s after 5 failures",
		"oob@jump.example.net:22",
		"forward:  jump host localhost:31337 → here localhost:22",
		"forward:  jump host localhost:0 → here 127.0.0.1:2323",
		"30m0s by default, at most 4h0m0s, data budget 50MB",
		"push Pushover; link-down SMS to requester + +46702223333",
		"drill:    0 4 * * 0",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("summary lacks %q:\n%s", w, s)
		}
	}
	for _, secret := range []string{testSecret, testToken, testTOTP, "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"} {
		if strings.Contains(s, secret) {
			t.Errorf("summary shows a secret %q", secret)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		err  bool
	}{
		{"50MB", 50_000_000, false},
		{"50mb", 50_000_000, false},
		{"256KB", 256_000, false},
		{"256KiB", 262_144, false},
		{"1GiB", 1 << 30, false},
		{"1.5MB", 1_500_000, false},
		{"4096", 4096, false},
		{"10 B", 10, false},
		{"0", 0, false},
		{"", 0, true},
		{"MB", 0, true},
		{"-5MB", 0, true},
		{"1e6", 0, true},
		{"inf", 0, true},
		{"5 bananas", 0, true},
		{"99999999999TB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if s := Size(50e6).String(); s != "50MB" {
		t.Errorf("String = %s", s)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"50MB", "256KiB", "1.5GB", "12", "", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err == nil && v < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, v)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yaml", "minimal.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("modem: [1, 2\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, WithoutFileChecks())
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

// Numbers written without quotes stay as written (YAML would read them as
// integers, dropping the "+" or a leading 0).
func TestUnquotedNumbers(t *testing.T) {
	dir := setup(t)
	c, err := Load(fixture(t, dir, "full.yaml",
		`senders: ["+46701234567", "0046709999999", "0701112222"]`, `senders: [+46701234567, 0046709999999, 0701112222]`,
		`country_code: "46"`, `country_code: 46`))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.Trigger.Allowlist); got != "[+46701234567 +46709999999 +46701112222]" {
		t.Errorf("allowlist %s", got)
	}
}

// pppd without nodetach leaves the process group oobd stops after a
// crash: a warning, not an error.
func TestPPPDWithoutNodetachIsAWarning(t *testing.T) {
	dir := setup(t)
	for _, tt := range []struct {
		command string
		warn    bool
	}{
		{"[pppd, call, oob, nodetach]", false},
		{"[/usr/sbin/pppd, call, oob]", true},
		{"[/usr/local/bin/dial-oob.sh]", false},
	} {
		path := fixture(t, dir, "full.yaml", "up_command: [pppd, call, oob, nodetach]", "up_command: "+tt.command)
		c, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", tt.command, err)
		}
		got := strings.Contains(c.Warnings.Error(), "nodetach")
		if got != tt.warn {
			t.Errorf("%s: warnings %q", tt.command, c.Warnings.Error())
		}
	}
}

func TestConsoleSettings(t *testing.T) {
	tests := []struct {
		name    string
		edits   []string
		idle    time.Duration
		warning string // "" for none
		problem string // "" for none
	}{
		{name: "as in the file", idle: 10 * time.Minute},
		{name: "default idle timeout", edits: []string{"  idle_timeout: 10m\n", ""}, idle: 30 * time.Minute},
		{name: "idle timeout off", edits: []string{"idle_timeout: 10m", "idle_timeout: 0s"}, idle: 0},
		{name: "negative idle timeout", edits: []string{"idle_timeout: 10m", "idle_timeout: -5m"},
			problem: "console.idle_timeout: must be 0s (never) or a positive duration, not -5m0s"},
		{name: "idle timeout without a unit", edits: []string{"idle_timeout: 10m", "idle_timeout: 0"},
			problem: "console.idle_timeout: want a duration with a unit"},
		{name: "listen on localhost", edits: []string{"listen: 127.0.0.1:2323", "listen: localhost:2323"}, idle: 10 * time.Minute},
		{name: "listen on IPv6 loopback", edits: []string{"listen: 127.0.0.1:2323", "listen: \"[::1]:2323\""}, idle: 10 * time.Minute},
		{name: "listen on every address", edits: []string{"listen: 127.0.0.1:2323", "listen: 0.0.0.0:2323"}, idle: 10 * time.Minute,
			warning: "console.listen: 0.0.0.0:2323 is not loopback: anyone who reaches it gets the router's console"},
		{name: "listen on the LAN", edits: []string{"listen: 127.0.0.1:2323", "listen: 192.168.1.5:2323"}, idle: 10 * time.Minute,
			warning: "console.listen: 192.168.1.5:2323 is not loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			c, err := Load(fixture(t, dir, "full.yaml", tt.edits...))
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("Load error = %v, want %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Console.IdleTimeout != tt.idle {
				t.Errorf("idle timeout %v, want %v", c.Console.IdleTimeout, tt.idle)
			}
			var warnings []string
			for _, w := range c.Warnings {
				if strings.HasPrefix(w.Path, "console") {
					warnings = append(warnings, w.String())
				}
			}
			switch {
			case tt.warning == "" && len(warnings) > 0:
				t.Errorf("unexpected warnings %q", warnings)
			case tt.warning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tt.warning)):
				t.Errorf("warnings %q, want one saying %q", warnings, tt.warning)
			case tt.warning != "" && !strings.Contains(c.Summary(), "warning: "+warnings[0]):
				t.Errorf("check-config's summary lacks the warning:\n%s", c.Summary())
			}
		})
	}
}

// modem.own_number is normalised like the senders; a bad one is named.
func TestOwnNumber(t *testing.T) {
	dir := setup(t)
	for _, tt := range []struct {
		in, want, err string
	}{
		{`""`, "", ""},
		{`"+46709876543"`, "+46709876543", ""},
		{`"0709876543"`, "+46709876543", ""},
		{`"0046709876543"`, "+46709876543", ""},
		{`"not a number"`, "", "modem.own_number"},
	} {
		c, err := Load(fixture(t, dir, "full.yaml", "  baud: 115200\n", "  baud: 115200\n  own_number: "+tt.in+"\n"))
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("own_number %s: error %v, want one naming %s", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("own_number %s: %v", tt.in, err)
		case c.Modem.OwnE164 != tt.want:
			t.Errorf("own_number %s: OwnE164 %q, want %q", tt.in, c.Modem.OwnE164, tt.want)
		}
	}
}
