package link

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func proc(pid, pgid int, start string) fakeProc {
	return fakeProc{procInfo: procInfo{pid: pid, pgid: pgid, start: start}}
}

// The recorded dialer is known by PID and start time only (a script's
// command line starts with its interpreter), and its whole process group
// is stopped; nothing else is.
func TestCleanupStopsTheRecordedGroup(t *testing.T) {
	other := proc(900, 900, "10") // an unrelated process
	tests := []struct {
		name    string
		procs   []fakeProc
		signals []string // the fake's "signal" calls, in order
		left    []int    // PIDs still running afterwards
		waits   bool     // the interface was waited for
	}{
		{
			name:    "dialer and its children",
			procs:   []fakeProc{proc(100, 100, "50"), proc(101, 100, "51"), proc(102, 100, "52"), other},
			signals: []string{"signal 100 lead 100 terminated"},
			left:    []int{900},
			waits:   true,
		},
		{
			name:  "PID reused by another process",
			procs: []fakeProc{proc(100, 100, "70"), proc(101, 100, "71"), other},
			left:  []int{100, 101, 900},
		},
		{
			name:    "leader gone, its children live on",
			procs:   []fakeProc{proc(101, 100, "51"), proc(102, 100, "60"), other},
			signals: []string{"signal 100 lead 0 terminated"},
			left:    []int{900},
			waits:   true,
		},
		{
			name: "leader gone, group taken by older processes",
			// Nothing that started before the dialer can be in a group it
			// made: a group of that ID now is someone else's.
			procs: []fakeProc{proc(101, 100, "40"), other},
			left:  []int{101, 900},
		},
		{
			name:    "leader a zombie, its children live on",
			procs:   []fakeProc{{procInfo: procInfo{pid: 100, pgid: 100, start: "50", zombie: true}}, proc(101, 100, "51"), other},
			signals: []string{"signal 100 lead 0 terminated"},
			left:    []int{100, 900}, // the zombie stays until reaped
			waits:   true,
		},
		{
			name: "children that ignore SIGTERM",
			procs: []fakeProc{proc(100, 100, "50"),
				{procInfo: procInfo{pid: 101, pgid: 100, start: "51"}, stubborn: true}, other},
			signals: []string{"signal 100 lead 100 terminated", "signal 100 lead 0 killed"},
			left:    []int{900},
			waits:   true,
		},
		{
			name:  "nothing running",
			procs: []fakeProc{other},
			left:  []int{900},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeOS(linkInfo{name: "ppp0"})
			fake.procs = tt.procs
			j := &memJournal{lo: Leftovers{
				Interface: "ppp0",
				Dialer:    &Process{PID: 100, StartTime: "50", Cmdline: []string{"/bin/sh", "/etc/oob/dial.sh"}},
				Routes:    []Route{{Destination: "203.0.113.10", Interface: "ppp0"}},
			}}
			cfg := testConfig("127.0.0.1:22")
			cfg.StopGrace = 200 * time.Millisecond
			l := testLink(t, cfg, fake, j)
			if err := l.Cleanup(ctxFor(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			var signals []string
			for _, c := range fake.callLog() {
				if strings.HasPrefix(c, "signal") {
					signals = append(signals, c)
				}
			}
			if !slices.Equal(signals, tt.signals) {
				t.Errorf("signals %q, want %q", signals, tt.signals)
			}
			if got := fake.pids(); !slices.Equal(got, tt.left) {
				t.Errorf("running afterwards: %v, want %v", got, tt.left)
			}
			calls := fake.callLog()
			if waited := slices.Contains(calls, "waitGone ppp0"); waited != tt.waits {
				t.Errorf("waited for ppp0: %v, want %v", waited, tt.waits)
			}
			if !slices.Contains(calls, "delRoute 203.0.113.10 ppp0") {
				t.Errorf("the recorded route was not removed: %q", calls)
			}
			if lo := j.last(); !lo.Empty() {
				t.Errorf("journal after the clean-up: %+v", lo)
			}
			if f := j.cleanups(); len(f) != 1 || f[0] != nil {
				t.Errorf("clean-up records %v, want one nil (clean)", f)
			}
		})
	}
}

// A clean-up that fails is bounded, recorded with what is left, and
// retried before every dial, which waits until it succeeds.
func TestFailedCleanupIsKeptAndRetried(t *testing.T) {
	fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
	fake.held = true // the dialer's interface
	fake.procs = []fakeProc{{procInfo: procInfo{pid: 100, pgid: 100, start: "50"}, stubborn: true, unkillable: true}}
	fake.delErr = errors.New("route: permission denied")
	j := &memJournal{lo: Leftovers{
		Interface: "ppp0",
		Dialer:    &Process{PID: 100, StartTime: "50"},
		Routes:    []Route{{Destination: "203.0.113.10", Interface: "ppp0"}},
	}}
	jump, accepted := jumpHost(t)
	cfg := testConfig(jump)
	cfg.StopGrace = 100 * time.Millisecond
	l := testLink(t, cfg, fake, j)
	ctx := ctxFor(t, 30*time.Second)

	start := time.Now()
	err := l.Cleanup(ctx)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "still running after SIGKILL") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Cleanup = %v", err)
	}
	if limit := cfg.StopGrace + l.goneWait + time.Second; took > limit {
		t.Errorf("Cleanup took %v, more than grace and wait (%v)", took, limit)
	}
	fails := j.cleanups()
	if len(fails) != 1 || fails[0] == nil {
		t.Fatalf("recorded %v, want one failure", fails)
	}
	wantLeft := []string{"dialer pid 100 (started 50)", "interface ppp0", "route 203.0.113.10 via ppp0"}
	if f := fails[0]; !slices.Equal(f.Left, wantLeft) || f.FailedAt.IsZero() || !strings.Contains(f.Error, "dialer pid 100") {
		t.Errorf("failure %+v, want left %q", f, wantLeft)
	}
	if lo := j.last(); lo.Dialer == nil || lo.Dialer.PID != 100 || len(lo.Routes) != 1 {
		t.Errorf("journal after the failed clean-up: %+v, want all of it still recorded", lo)
	}

	// Up does not dial while it still fails.
	_, err = l.Up(ctx)
	var ue *UpError
	if !errors.As(err, &ue) || len(ue.Tries) != 1 || ue.Tries[0].Step != StepDial || !strings.Contains(err.Error(), "still there") {
		t.Fatalf("Up = %v, want a try refused at dial", err)
	}
	if slices.ContainsFunc(j.records(), func(lo Leftovers) bool { return lo.Dialer != nil && lo.Dialer.PID != 100 }) {
		t.Error("a dialer was started while the clean-up failed")
	}

	// Once the group can be stopped and the route removed, the next Up
	// cleans up, clears the failure and dials.
	fake.set(func(f *fakeOS) {
		f.procs[0].stubborn, f.procs[0].unkillable = false, false
		f.delErr = nil
	})
	p, err := l.Up(ctx)
	if err != nil {
		t.Fatalf("Up after the clean-up could succeed: %v", err)
	}
	defer p.Down(ctx)
	<-accepted
	if fails := j.cleanups(); fails[len(fails)-1] != nil {
		t.Errorf("the failure was not cleared: %+v", fails[len(fails)-1])
	}
	if len(fake.pids()) != 0 {
		t.Errorf("the old group still runs: %v", fake.pids())
	}
}

func TestCleanupWithoutAnIdentity(t *testing.T) {
	for _, tt := range []struct {
		name string
		rec  Process
	}{
		{"about to start", Process{Cmdline: []string{"pppd"}}},
		{"no start time", Process{PID: 100}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeOS(linkInfo{name: "ppp0"})
			fake.procs = []fakeProc{proc(100, 100, "50")}
			rec := tt.rec
			j := &memJournal{lo: Leftovers{Interface: "ppp0", Dialer: &rec}}
			l := testLink(t, testConfig("127.0.0.1:22"), fake, j)
			if err := l.Cleanup(ctxFor(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(fake.callLog(), func(c string) bool { return strings.HasPrefix(c, "signal") }) {
				t.Errorf("signalled a process it cannot identify: %q", fake.callLog())
			}
			if !j.last().Empty() {
				t.Errorf("journal %+v", j.last())
			}
		})
	}
}

func TestCleanupCannotListProcesses(t *testing.T) {
	fake := newFakeOS(linkInfo{name: "ppp0"})
	fake.procsErr = errors.New("ps: not found")
	j := &memJournal{lo: Leftovers{Interface: "ppp0", Dialer: &Process{PID: 100, StartTime: "50"}}}
	l := testLink(t, testConfig("127.0.0.1:22"), fake, j)
	err := l.Cleanup(ctxFor(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "list processes") {
		t.Fatalf("Cleanup = %v", err)
	}
	if lo := j.last(); lo.Dialer == nil {
		t.Error("a dialer whose state is unknown was taken off the record")
	}
}

// Nothing recorded: nothing to do, and a failure an earlier run recorded
// is over.
func TestCleanupOfNothing(t *testing.T) {
	fake := newFakeOS(linkInfo{name: "ppp0"})
	j := &memJournal{}
	l := testLink(t, testConfig("127.0.0.1:22"), fake, j)
	for range 2 {
		if err := l.Cleanup(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if f := j.cleanups(); len(f) != 1 || f[0] != nil {
		t.Errorf("clean-up records %v, want one nil", f)
	}
	if calls := fake.callLog(); len(calls) != 0 {
		t.Errorf("calls %q", calls)
	}
}

func TestStartedBefore(t *testing.T) {
	for _, tt := range []struct {
		a, b       string
		before, ok bool
	}{
		{"50", "51", true, true},
		{"51", "50", false, true},
		{"50", "50", false, true},
		{"2026-12-01T02:05:26Z", "2026-12-01T02:05:27Z", true, true},
		{"2026-12-01T02:05:27Z", "2026-12-01T02:05:26Z", false, true},
		{"50", "2026-12-01T02:05:26Z", false, false},
		{"", "50", false, false},
	} {
		before, ok := startedBefore(tt.a, tt.b)
		if before != tt.before || ok != tt.ok {
			t.Errorf("startedBefore(%q, %q) = %v, %v", tt.a, tt.b, before, ok)
		}
	}
}
