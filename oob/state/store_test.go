package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/tunnel"
)

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)
	err = s.Update(func(st *State) {
		st.LastPoll = at
		st.Trigger.LastStep = 42
		st.Trigger.LockoutUntil = at.Add(time.Hour)
		st.Session = Session{Active: true, RequestedBy: "+46701234567", Started: at, Until: at.Add(30 * time.Minute),
			Forwards: []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}, BoundPort: 40001}},
			Leftovers: link.Leftovers{Interface: "ppp0", Dialer: &link.Process{PID: 1234, StartTime: "5678", Cmdline: []string{"pppd", "call", "oob"}},
				Routes: []link.Route{{Destination: "203.0.113.7", Interface: "ppp0"}}}}
		st.SetFailure(at, "dial", "PPP x3: no IP")
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !strings.Contains(string(raw), `"last_poll": "2026-11-23T21:00:00Z"`) {
		t.Errorf("times not RFC 3339:\n%s", raw)
	}
	// The leftovers keep the names earlier versions wrote: a run after an
	// upgrade still tears down what the old one left.
	for _, name := range []string{`"dialer_recorded": true`, `"dialer_pid": 1234`, `"dialer_start_time": "5678"`, `"destination": "203.0.113.7"`} {
		if !strings.Contains(string(raw), name) {
			t.Errorf("state.json lacks %s:\n%s", name, raw)
		}
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := s2.Snapshot()
	if !got.LastPoll.Equal(at) || got.Trigger.LastStep != 42 || got.Session.Leftovers.Dialer == nil || got.Session.Leftovers.Dialer.PID != 1234 ||
		got.Session.Forwards[0].BoundPort != 40001 || got.LastFailure.Reason != "PPP x3: no IP" {
		t.Errorf("reloaded state differs: %+v", got)
	}
	// Snapshots are copies.
	got.Session.Forwards[0].BoundPort = 1
	if s2.Snapshot().Session.Forwards[0].BoundPort != 40001 {
		t.Error("Snapshot shares memory with the store")
	}
}

func TestStoreConcurrentUpdates(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Update(func(st *State) {
				st.Session.Bytes++
				st.AddEvent(time.Now(), "test", "event")
			}); err != nil {
				t.Error(err)
			}
			_ = s.Snapshot()
			_ = i
		}()
	}
	wg.Wait()
	if got := s.Snapshot().Session.Bytes; got != n {
		t.Errorf("Bytes = %d after %d updates", got, n)
	}
	st, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Session.Bytes != n || len(st.Events) != n {
		t.Errorf("on disk: bytes %d events %d", st.Session.Bytes, len(st.Events))
	}
	left, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestStoreCrashMidWrite(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	if err := s.Update(func(st *State) { st.Trigger.LastStep = 7 }); err != nil {
		t.Fatal(err)
	}
	// A crash after the temporary file was written but before the rename:
	// the old state.json is intact and the half-written temp is dropped.
	tmp := filepath.Join(dir, tempPrefix+"12345")
	os.WriteFile(tmp, []byte(`{"version":1,"trigger":{"last_st`), 0o600)
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Snapshot().Trigger.LastStep != 7 || s2.Recovered() != "" {
		t.Errorf("state after crash = %+v, recovered %q", s2.Snapshot().Trigger, s2.Recovered())
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("leftover temp file not removed: %v", err)
	}
}

func TestStoreTruncatedFile(t *testing.T) {
	for _, body := range []string{`{"version":1,"trigger":{"last_st`, "", "\x00\x00\x00", `{"version":1}{"version":1}`} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o600)
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("%q: Open: %v", body, err)
		}
		aside := s.Recovered()
		if aside == "" {
			t.Fatalf("%q: damaged file not reported", body)
		}
		kept, err := os.ReadFile(aside)
		if err != nil || string(kept) != body {
			t.Errorf("%q: bad copy not kept: %q, %v", body, kept, err)
		}
		st := s.Snapshot()
		if len(st.Events) != 1 || !strings.Contains(st.Events[0].Message, "damaged") {
			t.Errorf("%q: no event says so: %+v", body, st.Events)
		}
		if err := s.Update(func(*State) {}); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(dir); err != nil {
			t.Errorf("%q: state not usable after recovery: %v", body, err)
		}
	}
}

func TestUpdateWriteFailureKeepsMemory(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	os.RemoveAll(dir)
	if err := s.Update(func(st *State) { st.Trigger.LastStep = 9 }); err == nil {
		t.Error("Update into a removed directory succeeded")
	}
	if s.Snapshot().Trigger.LastStep != 9 {
		t.Error("change lost after a failed write")
	}
}

func TestAddEventKeepsLast(t *testing.T) {
	var st State
	for i := range MaxEvents + 5 {
		st.AddEvent(time.Unix(int64(i), 0), "k", "m")
	}
	if len(st.Events) != MaxEvents || st.Events[0].Time.Unix() != 5 {
		t.Errorf("events: %d, first %v", len(st.Events), st.Events[0].Time.Unix())
	}
}

func TestStatusJSON(t *testing.T) {
	now := time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)
	var st State
	b, _ := json.Marshal(st.Status(now))
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, path := range [][]string{
		{"modem", "ok"}, {"modem", "signal_dbm"}, {"modem", "registration"}, {"modem", "sim"},
		{"last_poll"}, {"lockout", "active"}, {"lockout", "until"},
		{"session", "active"}, {"session", "requested_by"}, {"session", "started"}, {"session", "until"},
		{"session", "interface"}, {"session", "local_ip"}, {"session", "forwards"}, {"session", "bytes"},
		{"last_failure"}, {"last_drill"},
	} {
		var cur any = m
		for _, k := range path {
			obj, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object", path)
			}
			if cur, ok = obj[k]; !ok {
				t.Errorf("status JSON lacks %v: %s", path, b)
				break
			}
		}
	}

	st.Trigger.LockoutUntil = now.Add(time.Minute)
	st.Modem = Modem{OK: true, SignalDBm: -73, SignalKnown: true, Registration: "home", SIM: "ready"}
	st.SetFailure(now, "dial", "PPP x3: no IP")
	b, _ = json.Marshal(st.Status(now))
	for _, w := range []string{`"lockout":{"active":true,"until":"2026-11-23T21:01:00Z"`, `"signal_dbm":-73`, `"last_failure":{"time":"2026-11-23T21:00:00Z","step":"dial","reason":"PPP x3: no IP"}`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("status JSON lacks %s:\n%s", w, b)
		}
	}
	if st.Status(now.Add(2 * time.Minute)).Lockout.Active {
		t.Error("lockout active after it ended")
	}
	txt := st.Status(now).Text(now)
	for _, w := range []string{"lockout:   ACTIVE", "signal -73 dBm", "failure:   ", "dial: PPP x3: no IP", "drill:     never"} {
		if !strings.Contains(txt, w) {
			t.Errorf("text lacks %q:\n%s", w, txt)
		}
	}
}

// Readings alone (signal, bytes, last poll) reach the file at most every
// readings interval, or with the next durable change, or at Flush; a
// durable change is written at once.
func TestReadingsAreWrittenLazily(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)
	s, err := Open(dir, WithClock(func() time.Time { return now }), WithReadingsEvery(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	onDisk := func() State {
		t.Helper()
		st, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	reading := func(dbm int, bytes int64) {
		t.Helper()
		if err := s.Update(func(st *State) {
			st.Modem.SignalDBm, st.Modem.SignalKnown, st.LastPoll = dbm, true, now
			st.Session.Bytes = bytes
		}); err != nil {
			t.Fatal(err)
		}
	}
	reading(-70, 0) // the first write of a run is never held back
	if got := onDisk(); got.Modem.SignalDBm != -70 {
		t.Fatalf("first reading not written: %+v", got.Modem)
	}
	for i := 1; i <= 5; i++ {
		now = now.Add(time.Minute)
		reading(-70-i, int64(i)*1000)
	}
	if got := onDisk(); got.Modem.SignalDBm != -70 || got.Session.Bytes != 0 {
		t.Errorf("readings written within the interval: %+v", got)
	}
	if mem := s.Snapshot(); mem.Modem.SignalDBm != -75 || mem.Session.Bytes != 5000 {
		t.Errorf("readings not kept in memory: %+v", mem)
	}
	// A durable change goes at once, and takes the held readings along.
	if err := s.Update(func(st *State) { st.Trigger.LastStep = 7 }); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); got.Trigger.LastStep != 7 || got.Modem.SignalDBm != -75 || got.Session.Bytes != 5000 {
		t.Errorf("durable change not written with the readings: %+v", got)
	}
	now = now.Add(time.Minute)
	reading(-80, 6000)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); got.Modem.SignalDBm != -80 {
		t.Errorf("Flush did not write the held reading: %+v", got.Modem)
	}
	// Past the interval a reading is written by itself.
	now = now.Add(10 * time.Minute)
	reading(-90, 7000)
	if got := onDisk(); got.Modem.SignalDBm != -90 || got.Session.Bytes != 7000 {
		t.Errorf("reading past the interval not written: %+v", got)
	}
	// A modem that stops answering is no mere reading.
	now = now.Add(time.Second)
	if err := s.Update(func(st *State) { st.Modem.OK = false; st.Modem.LastError = "timeout" }); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); got.Modem.LastError != "timeout" {
		t.Errorf("modem failure held back: %+v", got.Modem)
	}
}
