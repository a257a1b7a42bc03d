package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/totp"
	"github.com/oobd/oobd/tunnel"
)

func runOobd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &cmdEnv{stdout: &out, stderr: &errb}, args)
	return out.String(), errb.String(), code
}

// writeConfig writes a valid config and its files into a new directory;
// edits are (old, new) pairs applied to the YAML.
func writeConfig(t *testing.T, edits ...string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	for name, body := range map[string]string{"secret": "hunter2-Secret\n", "id": "key\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte("jump ssh-ed25519 AAAA\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "state"), 0o700)
	y := strings.ReplaceAll(`state_dir: DIR/state
modem:
  port: /dev/null
trigger:
  senders: ["+46709876543"]
  secret_file: DIR/secret
tunnel:
  jump_host: jump.oob.test:22
  identity_file: DIR/id
  known_hosts: DIR/known_hosts
  forwards:
    - remote: localhost:31337
      local: localhost:22
`, "DIR", dir)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(y, edits[i]) {
			t.Fatalf("no %q in the config", edits[i])
		}
		y = strings.Replace(y, edits[i], edits[i+1], 1)
	}
	path = filepath.Join(dir, "oobd.yaml")
	os.WriteFile(path, []byte(y), 0o600)
	return dir, path
}

func TestCheckConfigValid(t *testing.T) {
	_, path := writeConfig(t)
	out, errs, code := runOobd(t, "check-config", "--config", path)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, w := range []string{"is valid", "senders:  +46709876543", "poll @every 1m", "jump.oob.test:22", "forward:  jump host localhost:31337 → here localhost:22", "30m0s by default, at most 4h0m0s"} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Error("summary shows the secret")
	}
}

func TestCheckConfigProblems(t *testing.T) {
	dir, path := writeConfig(t,
		"  port: /dev/null\n", "  port: /dev/null\n  baud: fast\n",
		"  secret_file:", "  lockout: 1 hour\n  max_faliures: 3\n  secret_file:",
		"      local: localhost:22\n", "      local: localhost:22\n    - remote: localhost\n      local: localhost:22\n")
	os.Chmod(filepath.Join(dir, "secret"), 0o640)
	out, errs, code := runOobd(t, "check-config", "--config", path)
	if code != exitUsage || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := []string{
		"oobd check-config: 5 problems in " + path + ":",
		path + ":4: modem.baud: cannot unmarshal",
		path + ":7: trigger.lockout: bad duration \"1 hour\"",
		path + ":8: trigger.max_faliures: unknown key",
		path + ":9: trigger.secret_file: file " + dir + "/secret is accessible by group or others (mode 0640)",
		path + ":17: tunnel.forwards[1].remote: \"localhost\" is not host:port",
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(want), errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	if strings.Contains(errs, "hunter2") {
		t.Error("problems show the secret")
	}
	if _, _, code := runOobd(t, "check-config", "--config", filepath.Join(dir, "none.yaml")); code != exitUsage {
		t.Errorf("missing config: exit %d", code)
	}
	if _, _, code := runOobd(t, "check-config", "--bogus"); code != exitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
}

func TestStatus(t *testing.T) {
	dir, path := writeConfig(t)
	if _, errs, code := runOobd(t, "status", "--config", path); code != exitFailure || !strings.Contains(errs, "no state") {
		t.Errorf("no state yet: exit %d %q", code, errs)
	}
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	st.Update(func(s *state.State) {
		s.LastPoll = now
		s.Modem = state.Modem{OK: true, SignalDBm: -75, SignalKnown: true, Registration: "home", SIM: "ready"}
		s.Session = state.Session{Active: true, RequestedBy: "+46701234567", Started: now, Until: now.Add(30 * time.Minute),
			Interface: "ppp0", LocalIP: "10.64.0.2", Forwards: []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}, BoundPort: 40123}}, Bytes: 12345}
		s.SetFailure(now.Add(-time.Hour), "dial", "PPP x3: no IP")
	})
	// No daemon runs: the state file is still shown, and the exit is 1.
	out, errs, code := runOobd(t, "status", "--config", path, "--json")
	if code != exitFailure {
		t.Fatalf("exit %d, want 1 (no daemon): %s", code, errs)
	}
	var v struct {
		Modem struct {
			OK        bool   `json:"ok"`
			SignalDBm int    `json:"signal_dbm"`
			SIM       string `json:"sim"`
		} `json:"modem"`
		LastPoll string `json:"last_poll"`
		Lockout  struct {
			Active bool `json:"active"`
		} `json:"lockout"`
		Session struct {
			Active   bool   `json:"active"`
			Until    string `json:"until"`
			Forwards []struct {
				Remote    string `json:"remote"`
				Local     string `json:"local"`
				BoundPort int    `json:"bound_port"`
			} `json:"forwards"`
			Bytes int64 `json:"bytes"`
		} `json:"session"`
		LastFailure struct{ Step, Reason string } `json:"last_failure"`
		Daemon      bool                          `json:"daemon_running"`
		Health      struct {
			OK     bool `json:"ok"`
			Checks []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"checks"`
		} `json:"health"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !v.Modem.OK || v.Modem.SignalDBm != -75 || v.LastPoll != now.Format(time.RFC3339) || v.Lockout.Active ||
		!v.Session.Active || v.Session.Until != now.Add(30*time.Minute).Format(time.RFC3339) ||
		v.Session.Forwards[0].BoundPort != 40123 || v.Session.Bytes != 12345 || v.LastFailure.Reason != "PPP x3: no IP" ||
		v.Daemon || len(v.Health.Checks) != 10 || v.Health.Checks[0].Name != "loops" || v.Health.Checks[0].OK {
		t.Errorf("status JSON: %+v\n%s", v, out)
	}
	out, _, code = runOobd(t, "status", "--config", path)
	if code != exitFailure || !strings.Contains(out, "daemon:    NOT running") || !strings.Contains(out, "✗ loops") ||
		!strings.Contains(out, "session:   ACTIVE, asked by +46701234567") || !strings.Contains(out, "port 40123") {
		t.Errorf("status text (exit %d):\n%s", code, out)
	}
}

func TestTOTPCommand(t *testing.T) {
	out, _, code := runOobd(t, "totp", "--account", "pi")
	if code != exitOK || !strings.Contains(out, "uri:    otpauth://totp/oobd:pi?") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "totp")
	out, _, code = runOobd(t, "totp", "--secret-file", file)
	if code != exitOK || strings.Contains(out, "secret: ") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(file)
	key, err := totp.Decode(string(b))
	if err != nil || !strings.Contains(out, "secret="+totp.Encode(key)) {
		t.Errorf("file and URI disagree: %v\n%s", err, out)
	}
	if _, errs, code := runOobd(t, "totp", "--secret-file", file); code != exitFailure || !strings.Contains(errs, "exists") {
		t.Errorf("overwrote an existing secret: exit %d %q", code, errs)
	}
}
