package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/state"
)

// statusLine is the one line of out that starts with prefix.
func statusLine(t *testing.T, out, prefix string) string {
	t.Helper()
	var found []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines start with %q, want 1:\n%s", len(found), prefix, out)
	}
	return found[0]
}

// wantLine checks a status line made of head, the time at shown with its
// age, and tail.
func wantLine(t *testing.T, line, head string, at time.Time, tail string) {
	t.Helper()
	re := "^" + regexp.QuoteMeta(head+at.Local().Format(time.RFC3339)) + ` \([0-9hms.]+ ago\)` + regexp.QuoteMeta(tail) + "$"
	if !regexp.MustCompile(re).MatchString(line) {
		t.Errorf("line %q does not match %q", line, re)
	}
}

// jsonAt is the JSON of the value at path in the object doc.
func jsonAt(t *testing.T, doc string, path ...string) string {
	t.Helper()
	var cur any
	if err := json.Unmarshal([]byte(doc), &cur); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	for _, k := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object in\n%s", path, doc)
		}
		if cur, ok = obj[k]; !ok {
			t.Fatalf("no %v in\n%s", path, doc)
		}
	}
	b, _ := json.Marshal(cur)
	return string(b)
}

// With no daemon, status shows from state.json a failed clean-up, the
// modem's recovery step and the console that is not open, as text and as
// JSON; the failed clean-up fails its check.
func TestStatusShowsCleanupRecoveryAndConsoleFromTheStateFile(t *testing.T) {
	dir, cfg := writeConfig(t)
	stateDir := filepath.Join(dir, "state")
	store, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	stepSince := failedAt.Add(time.Hour)
	consoleSince := failedAt.Add(30 * time.Minute)
	if err := store.LinkJournal().RecordCleanup(&link.CleanupFailure{FailedAt: failedAt, Error: "pppd (pid 1234) would not die",
		Left: []string{"dialer pid 1234", "interface ppp0"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.ModemMemory().Remember(modem.Remembered{Recovery: modem.Recovery{Step: modem.StepReset, Since: stepSince,
		Counters: modem.Counters{Timeouts: 4, Resyncs: 3, Reopens: 2, Resets: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.Update(func(s *state.State) {
		s.Console = &console.State{Open: false, Since: consoleSince, Err: "open /dev/ttyUSB1: no such file or directory"}
	}); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := runOobd(t, "status", "--config", cfg)
	if code != exitFailure || errOut != "" {
		t.Fatalf("exit %d, stderr %q; want 1 and nothing (no daemon):\n%s", code, errOut, out)
	}
	wantLine(t, statusLine(t, out, "cleanup:"), "cleanup:   FAILED ", failedAt,
		": pppd (pid 1234) would not die; left: dialer pid 1234, interface ppp0 (retried before every dial)")
	wantLine(t, statusLine(t, out, "  recovery:"), "  recovery: step reset since ", stepSince, "")
	if got, want := statusLine(t, out, "  trouble:"), "  trouble: 4 timeouts, 3 late answers, 2 re-opens, 1 resets, 0 power cycles"; got != want {
		t.Errorf("trouble line %q, want %q", got, want)
	}
	wantLine(t, statusLine(t, out, "console:"), "console:   NOT open: open /dev/ttyUSB1: no such file or directory since ", consoleSince, "")
	if got, want := statusLine(t, out, "  ✗ crash_leftovers"), "  ✗ crash_leftovers clean-up failed at "+failedAt.Format(time.RFC3339)+
		": pppd (pid 1234) would not die; left: dialer pid 1234, interface ppp0"; got != want {
		t.Errorf("check line %q, want %q", got, want)
	}

	out, errOut, code = runOobd(t, "status", "--config", cfg, "--json")
	if code != exitFailure || errOut != "" {
		t.Fatalf("--json: exit %d, stderr %q; want 1 and nothing:\n%s", code, errOut, out)
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"cleanup"}, `{"error":"pppd (pid 1234) would not die","failed_at":"` + failedAt.Format(time.RFC3339) + `","left":["dialer pid 1234","interface ppp0"]}`},
		{[]string{"modem", "recovery"}, `{"reopens":2,"resets":1,"resyncs":3,"since":"` + stepSince.Format(time.RFC3339) + `","step":"reset","timeouts":4}`},
		{[]string{"console"}, `{"error":"open /dev/ttyUSB1: no such file or directory","open":false,"since":"` + consoleSince.Format(time.RFC3339) + `"}`},
		{[]string{"daemon_running"}, `false`},
	} {
		if got := jsonAt(t, out, c.path...); got != c.want {
			t.Errorf("status --json %v = %s, want %s", c.path, got, c.want)
		}
	}

	// The clean-up succeeds and the console opens: the lines say so.
	if err := store.LinkJournal().RecordCleanup(nil); err != nil {
		t.Fatal(err)
	}
	openSince := consoleSince.Add(time.Minute)
	if err := store.Update(func(s *state.State) { s.Console = &console.State{Open: true, Since: openSince} }); err != nil {
		t.Fatal(err)
	}
	out, _, code = runOobd(t, "status", "--config", cfg)
	if code != exitFailure || strings.Contains(out, "cleanup:") {
		t.Errorf("after the clean-up succeeded: exit %d, want 1 and no cleanup line:\n%s", code, out)
	}
	wantLine(t, statusLine(t, out, "console:"), "console:   open since ", openSince, "")
	if got, want := statusLine(t, out, "  ✓ crash_leftovers"), "  ✓ crash_leftovers none"; got != want {
		t.Errorf("check line %q, want %q", got, want)
	}
	out, _, _ = runOobd(t, "status", "--config", cfg, "--json")
	if got := jsonAt(t, out, "cleanup"); got != "null" {
		t.Errorf("status --json cleanup = %s after it succeeded, want null", got)
	}
}

// With no daemon and a console configured, the console check is the
// state file's: not open fails it.
func TestStatusWithNoDaemonChecksTheConsole(t *testing.T) {
	dir, cfg := writeConfig(t, "  port: /dev/null\n", "  port: /dev/null\nconsole:\n  device: /dev/ttyUSB1\n  listen: 127.0.0.1:2323\ndrill:\n  schedule: \"@every 24h\"\n")
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	if err := store.Update(func(s *state.State) {
		s.Console = &console.State{Open: false, Since: since, Err: "no such file or directory"}
		s.LastPoll = time.Now()
	}); err != nil {
		t.Fatal(err)
	}
	out, _, code := runOobd(t, "status", "--config", cfg)
	if code != exitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	if got, want := statusLine(t, out, "  ✗ console"), "  ✗ console         not open since "+since.Format(time.RFC3339); got != want {
		t.Errorf("check line %q, want %q", got, want)
	}
	// The schedules come from the config too: the poll's gap is known and
	// the drill is configured.
	if got := statusLine(t, out, "  ✓ poll"); !strings.Contains(got, "limit 3m0s") {
		t.Errorf("poll line %q, want the limit from trigger.schedule (3 × 1m)", got)
	}
	if got := statusLine(t, out, "  ✗ drill"); strings.Contains(got, "no drill.schedule") || !strings.Contains(got, "no drill yet") {
		t.Errorf("drill line %q: the configured schedule was not read", got)
	}
}

// The daemon answers but one of its checks fails: status exits 1 and
// names the failing check, in text and in JSON.
func TestStatusExitsOneWhenADaemonCheckFails(t *testing.T) {
	dir, cfg := writeConfig(t)
	stateDir := filepath.Join(dir, "state")
	file, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := file.Update(func(s *state.State) {
		s.Modem = state.Modem{OK: true, SIM: "pin-required", Registration: "home"}
	}); err != nil {
		t.Fatal(err)
	}
	live := file.Snapshot()
	var report atomic.Pointer[health.Report]
	report.Store(&health.Report{OK: false, Checks: []health.Check{
		{Name: health.CheckLoops, OK: true, Detail: "all alive"},
		{Name: health.CheckSIM, OK: false, Detail: "PIN required: the PIN in the PIN file was rejected before; not retried"},
		{Name: health.CheckPoll, OK: true, Detail: "last poll 10s ago"},
	}})
	stub := startDaemonStub(t, stateDir, func(control.Request) control.Response {
		return control.Response{OK: true, Health: report.Load(), State: &live}
	})

	out, errOut, code := runOobd(t, "status", "--config", cfg)
	if code != exitFailure || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
	if got := statusLine(t, out, "daemon:"); got != "daemon:    running" {
		t.Errorf("daemon line %q", got)
	}
	_, checks, ok := strings.Cut(out, "checks:\n")
	if want := "  ✓ loops           all alive\n" +
		"  ✗ sim             PIN required: the PIN in the PIN file was rejected before; not retried\n" +
		"  ✓ poll            last poll 10s ago\n"; !ok || checks != want {
		t.Errorf("checks:\n%s\nwant:\n%s", checks, want)
	}

	out, errOut, code = runOobd(t, "status", "--config", cfg, "--json")
	if code != exitFailure || errOut != "" {
		t.Errorf("--json: exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
	if got, want := jsonAt(t, out, "daemon_running"), "true"; got != want {
		t.Errorf("daemon_running = %s", got)
	}
	if got, want := jsonAt(t, out, "health", "ok"), "false"; got != want {
		t.Errorf("health.ok = %s", got)
	}
	var v struct {
		Health health.Report `json:"health"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	var failing []string
	for _, c := range v.Health.Checks {
		if !c.OK {
			failing = append(failing, c.Name+": "+c.Detail)
		}
	}
	if len(v.Health.Checks) != 3 || len(failing) != 1 || failing[0] != "sim: PIN required: the PIN in the PIN file was rejected before; not retried" {
		t.Errorf("checks %+v, failing %q", v.Health.Checks, failing)
	}
	if n := len(stub.requests()); n != 2 {
		t.Errorf("the daemon was asked %d times, want 2", n)
	}

	// The same daemon with every check passing: exit 0.
	report.Store(&health.Report{OK: true, Checks: []health.Check{{Name: health.CheckLoops, OK: true, Detail: "all alive"}}})
	if out, errOut, code := runOobd(t, "status", "--config", cfg); code != exitOK || errOut != "" {
		t.Errorf("all checks pass: exit %d, stderr %q:\n%s", code, errOut, out)
	}
}
