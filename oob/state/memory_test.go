package state_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/state"
)

func openStore(t *testing.T, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stateFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fileObject is the state file's key (a path of object keys) as JSON.
func fileObject(t *testing.T, dir string, path ...string) (string, bool) {
	t.Helper()
	var cur any
	if err := json.Unmarshal([]byte(stateFile(t, dir)), &cur); err != nil {
		t.Fatal(err)
	}
	for _, k := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = obj[k]; !ok {
			return "", false
		}
	}
	b, _ := json.Marshal(cur)
	return string(b), true
}

// What the modem remembers (its ladder's step, its counters, a rejected
// PIN's digest) is in state.json and comes back to the next run's store,
// and writing it leaves the rest of the modem's state alone.
func TestModemMemorySurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.Update(func(st *state.State) { st.Modem.Operator, st.Modem.SIM = "Telia", "SIM PIN" }); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 30, 22, 15, 0, 0, time.UTC)
	digest := strings.Repeat("0123456789abcdef", 4)
	want := modem.Remembered{
		Recovery: modem.Recovery{Step: modem.StepReset, Since: since, Counters: modem.Counters{
			Timeouts: 11, Resyncs: 7, ResyncFailures: 2, Reopens: 3, Resets: 5, PowerCycles: 1, Reinits: 4}},
		RejectedPIN: digest,
	}
	if err := s.ModemMemory().Remember(want); err != nil {
		t.Fatal(err)
	}
	if got, ok := fileObject(t, dir, "modem", "recovery"); !ok || got != `{"power_cycles":1,"reinits":4,"reopens":3,"resets":5,"resync_failures":2,"resyncs":7,"since":"2026-11-30T22:15:00Z","step":"reset","timeouts":11}` {
		t.Errorf("state.json modem.recovery = %s (%v)", got, ok)
	}
	if got, ok := fileObject(t, dir, "modem", "rejected_pin"); !ok || got != `"`+digest+`"` {
		t.Errorf("state.json modem.rejected_pin = %s (%v)", got, ok)
	}

	// The next run.
	s2 := openStore(t, dir)
	got := s2.ModemMemory().Recall()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recalled after a re-open:\n got %+v\nwant %+v", got, want)
	}
	if m := s2.Snapshot().Modem; m.Operator != "Telia" || m.SIM != "SIM PIN" {
		t.Errorf("Remember clobbered the rest of the modem's state: %+v", m)
	}

	// A ready SIM forgets the rejected PIN: so does the next run.
	want.RejectedPIN = ""
	want.Recovery.Step, want.Recovery.Since = "", time.Time{}
	if err := s2.ModemMemory().Remember(want); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stateFile(t, dir), "rejected_pin") {
		t.Errorf("a forgotten PIN is still in state.json:\n%s", stateFile(t, dir))
	}
	if got, ok := fileObject(t, dir, "modem", "recovery"); !ok || got != `{"power_cycles":1,"reinits":4,"reopens":3,"resets":5,"resync_failures":2,"resyncs":7,"timeouts":11}` {
		t.Errorf("state.json modem.recovery after the ladder ended = %s (%v)", got, ok)
	}
	if got := openStore(t, dir).ModemMemory().Recall(); !reflect.DeepEqual(got, want) {
		t.Errorf("recalled after a second re-open:\n got %+v\nwant %+v", got, want)
	}
}

// A wrong PIN is sent to the SIM once, not once per run: five daemon
// restarts, each a new store on the same state directory and a new modem
// that lends its port to the dialer and takes it back five times, send
// AT+CPIN= once in all. state.json keeps the PIN's digest, never the PIN.
func TestWrongPINIsSentOnceAcrossDaemonRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the modem simulator")
	}
	const wrong = "97538642"
	sim, err := modemsim.New(modemsim.WithBootQuiet(50*time.Millisecond), modemsim.WithPIN("1234"), modemsim.WithoutCommands("^CPIN", "+CPINR"))
	if err != nil {
		t.Fatalf("modemsim.New: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	digest := ""
	for run := range 5 {
		store := openStore(t, dir)
		m := modem.New(sim.Path(), modem.WithPINFile(pinFile), modem.WithMemory(store.ModemMemory()), modem.WithCommandTimeout(2*time.Second))
		for lend := range 5 {
			in, err := m.Info(ctx)
			if err != nil {
				m.Close()
				t.Fatalf("run %d, lend %d: Info: %v", run, lend, err)
			}
			if in.SIM != modem.SIMPIN {
				m.Close()
				t.Fatalf("run %d, lend %d: SIM %s, want %s", run, lend, in.SIM, modem.SIMPIN)
			}
			if err := m.Release(ctx); err != nil {
				m.Close()
				t.Fatalf("run %d, lend %d: Release: %v", run, lend, err)
			}
			if err := m.Reacquire(ctx); err != nil {
				m.Close()
				t.Fatalf("run %d, lend %d: Reacquire: %v", run, lend, err)
			}
		}
		m.Close()
		got := store.Snapshot().Modem.RejectedPIN
		if run == 0 {
			digest = got
		}
		if got == "" || got != digest {
			t.Errorf("run %d: rejected PIN remembered as %q, want the first run's %q", run, got, digest)
		}
	}
	if n := modemsim.Count(sim.Commands(), "AT+CPIN="); n != 1 {
		t.Errorf("AT+CPIN= sent %d times over 5 runs, want exactly 1", n)
	}
	if st := sim.Status(); st.SIM != "SIM PIN" || st.PINLeft != 2 {
		t.Errorf("SIM %s with %d tries left, want SIM PIN with 2", st.SIM, st.PINLeft)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(digest) {
		t.Errorf("remembered %q: want a hex SHA-256", digest)
	}
	text := stateFile(t, dir)
	if got, ok := fileObject(t, dir, "modem", "rejected_pin"); !ok || got != `"`+digest+`"` {
		t.Errorf("state.json modem.rejected_pin = %s (%v), want %q", got, ok, digest)
	}
	if strings.Contains(text, wrong) {
		t.Errorf("state.json holds the PIN itself:\n%s", text)
	}
}

// A failed clean-up of a crashed run's leftovers is kept in state.json
// (cleanup: failed_at, error, left) across restarts, with one event, and
// is gone once a clean-up succeeds.
func TestLinkJournalKeepsFailedCleanupUntilOneSucceeds(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	at := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	first := &link.CleanupFailure{FailedAt: at, Error: "pppd (pid 1234) would not die", Left: []string{"dialer pid 1234", "interface ppp0"}}
	if err := s.LinkJournal().RecordCleanup(first); err != nil {
		t.Fatal(err)
	}
	if got, ok := fileObject(t, dir, "cleanup"); !ok || got != `{"error":"pppd (pid 1234) would not die","failed_at":"2026-11-30T23:00:00Z","left":["dialer pid 1234","interface ppp0"]}` {
		t.Errorf("state.json cleanup = %s (%v)", got, ok)
	}

	// The next run finds it, and fails again: the failure is updated, and
	// the event is not repeated.
	s2 := openStore(t, dir)
	if got := s2.Snapshot().Cleanup; !reflect.DeepEqual(got, first) {
		t.Errorf("cleanup after a re-open = %+v, want %+v", got, first)
	}
	again := &link.CleanupFailure{FailedAt: at.Add(time.Minute), Error: "route 203.0.113.10: operation not permitted", Left: []string{"route 203.0.113.10 via ppp0"}}
	if err := s2.LinkJournal().RecordCleanup(again); err != nil {
		t.Fatal(err)
	}
	if got, ok := fileObject(t, dir, "cleanup"); !ok || got != `{"error":"route 203.0.113.10: operation not permitted","failed_at":"2026-11-30T23:01:00Z","left":["route 203.0.113.10 via ppp0"]}` {
		t.Errorf("state.json cleanup after a second failure = %s (%v)", got, ok)
	}
	wantEvents := []state.Event{{Time: at, Kind: "cleanup", Message: "failed: pppd (pid 1234) would not die"}}
	if got := s2.Snapshot().Events; !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("events = %+v, want %+v", got, wantEvents)
	}

	// A clean-up that succeeds clears it, in the file too.
	s3 := openStore(t, dir)
	if err := s3.LinkJournal().RecordCleanup(nil); err != nil {
		t.Fatal(err)
	}
	if got, ok := fileObject(t, dir, "cleanup"); ok {
		t.Errorf("state.json still has cleanup %s after a clean-up succeeded", got)
	}
	st, err := state.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cleanup != nil || !reflect.DeepEqual(st.Events, wantEvents) {
		t.Errorf("after a clean-up succeeded: cleanup %+v, events %+v", st.Cleanup, st.Events)
	}
	if got := openStore(t, dir).Snapshot().Cleanup; got != nil {
		t.Errorf("cleanup after a success and a re-open = %+v, want none", got)
	}
}
