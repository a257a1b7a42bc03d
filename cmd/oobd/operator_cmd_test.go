package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/state"
)

// daemonStub answers on the control socket of a config's state_dir and
// keeps the requests it got.
type daemonStub struct {
	mu   sync.Mutex
	reqs []control.Request
}

func startDaemonStub(t *testing.T, stateDir string, answer func(control.Request) control.Response) *daemonStub {
	t.Helper()
	d := &daemonStub{}
	srv, err := control.Listen(control.SocketPath(stateDir), control.HandlerFunc(func(_ context.Context, req control.Request) control.Response {
		d.mu.Lock()
		d.reqs = append(d.reqs, req)
		d.mu.Unlock()
		return answer(req)
	}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return d
}

func (d *daemonStub) requests() []control.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]control.Request(nil), d.reqs...)
}

func TestUnlockAndExtendWithNoDaemon(t *testing.T) {
	_, cfg := writeConfig(t)
	for _, args := range [][]string{{"unlock"}, {"extend", "30m"}} {
		_, errOut, code := runOobd(t, append(args, "--config", cfg)...)
		if code != 1 || !strings.Contains(errOut, "no oobd daemon is running") {
			t.Errorf("oobd %s with no daemon: exit %d, %q", args, code, errOut)
		}
	}
}

func TestExtendUsage(t *testing.T) {
	_, cfg := writeConfig(t)
	for _, args := range [][]string{{"extend"}, {"extend", "soon"}, {"extend", "-5m"}, {"extend", "0s"}, {"extend", "30m", "1h"}, {"unlock", "now"}} {
		if _, errOut, code := runOobd(t, append(args, "--config", cfg)...); code != 2 || errOut == "" {
			t.Errorf("oobd %s: exit %d, %q; want 2", args, code, errOut)
		}
	}
}

func TestUnlockAndExtendAskTheDaemon(t *testing.T) {
	dir, cfg := writeConfig(t)
	until := time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC)
	stub := startDaemonStub(t, filepath.Join(dir, "state"), func(req control.Request) control.Response {
		switch req.Verb {
		case control.VerbUnlock:
			return control.Response{OK: true, Message: "lockout until 2026-12-01T11:00:00Z ended; 5 failures cleared"}
		case "extend":
			return control.Response{OK: true, Until: until}
		}
		return control.Response{Error: "unexpected"}
	})
	out, errOut, code := runOobd(t, "unlock", "--config", cfg)
	if code != 0 || out != "lockout until 2026-12-01T11:00:00Z ended; 5 failures cleared\n" || errOut != "" {
		t.Errorf("oobd unlock: exit %d, %q, %q", code, out, errOut)
	}
	out, errOut, code = runOobd(t, "extend", "90m", "--config", cfg)
	if code != 0 || out != "session extended: it ends "+until.Local().Format(time.RFC3339)+"\n" || errOut != "" {
		t.Errorf("oobd extend 90m: exit %d, %q, %q", code, out, errOut)
	}
	got := stub.requests()
	if len(got) != 2 || got[0].Verb != control.VerbUnlock || got[1].Verb != "extend" || got[1].For != "1h30m0s" {
		t.Errorf("the daemon got %+v", got)
	}
}

// A refusal (no session to extend) is a failure: exit 1 with the reason.
func TestExtendRefused(t *testing.T) {
	dir, cfg := writeConfig(t)
	startDaemonStub(t, filepath.Join(dir, "state"), func(control.Request) control.Response {
		return control.Response{Error: "session: no session"}
	})
	if _, errOut, code := runOobd(t, "extend", "30m", "--config", cfg); code != 1 || !strings.Contains(errOut, "no session") {
		t.Errorf("oobd extend with no session: exit %d, %q", code, errOut)
	}
}

// With the daemon running, status shows the daemon's own state: the
// readings state.json gets only now and then (signal, bytes) are fresh.
func TestStatusShowsTheDaemonsState(t *testing.T) {
	dir, cfg := writeConfig(t)
	stateDir := filepath.Join(dir, "state")
	file, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	file.Update(func(s *state.State) {
		s.Modem = state.Modem{OK: true, SignalDBm: -97, SignalKnown: true, SIM: "ready", Registration: "home"}
	})
	live := file.Snapshot()
	live.Modem.SignalDBm = -61
	live.Session = state.Session{Active: true, RequestedBy: "+46701234567", Bytes: 4242}
	startDaemonStub(t, stateDir, func(req control.Request) control.Response {
		return control.Response{OK: true, Health: &health.Report{OK: true, Checks: []health.Check{{Name: "loops", OK: true}}}, State: &live}
	})
	out, errOut, code := runOobd(t, "status", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Modem struct {
			SignalDBm int `json:"signal_dbm"`
		} `json:"modem"`
		Session struct {
			Bytes int64 `json:"bytes"`
		} `json:"session"`
		Daemon bool `json:"daemon_running"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !v.Daemon || v.Modem.SignalDBm != -61 || v.Session.Bytes != 4242 {
		t.Errorf("status shows %+v, want the daemon's -61 dBm and 4242 bytes, not the file's:\n%s", v, out)
	}
}
