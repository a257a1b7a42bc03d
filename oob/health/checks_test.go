package health

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/link"
)

var (
	t0      = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	started = t0.Add(-48 * time.Hour)
)

// healthy is an Input every check passes at t0.
func healthy() Input {
	return Input{
		Started: started,
		Modem:   Modem{Answering: true, Since: started},
		SIM:     SIM{State: "ready", PINAttempts: 3},
		Network: Network{Registration: "home", Operator: "Example Tel", SignalDBm: -73, SignalKnown: true},
		Poll:    Poll{Last: t0.Add(-30 * time.Second), LongestGap: time.Minute},
		Storage: Storage{Used: 2, Total: 30},
		Console: Console{Configured: true, Open: true, Since: started},
		Drill: Drill{Configured: true, Period: 24 * time.Hour, Last: t0.Add(-3 * time.Hour), OK: true,
			Steps: []DrillStep{{"dial", 9 * time.Second}, {"tunnel", 2 * time.Second}}},
	}
}

func TestEvaluateHealthyPassesEveryCheckInOrder(t *testing.T) {
	checks := Evaluate(healthy(), t0)
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if !c.OK {
			t.Errorf("%s fails on a healthy input: %s", c.Name, c.Detail)
		}
	}
	if !slices.Equal(names, Names()) {
		t.Errorf("checks %v, want %v", names, Names())
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		check  string
		name   string
		change func(*Input)
		ok     bool
		detail string
		since  time.Time // zero: Evaluate leaves it to the Checker
	}{
		{CheckLoops, "all alive", func(in *Input) {}, true, "all alive", time.Time{}},
		{CheckLoops, "stale", func(in *Input) { in.StaleLoops = []string{"inbox", "drill"} }, false, "stale: inbox, drill", time.Time{}},
		{CheckLoops, "stale during a session", func(in *Input) { in.Session, in.StaleLoops = true, []string{"inbox"} }, false, "stale: inbox", time.Time{}},

		{CheckModem, "answering", func(in *Input) {}, true, "answering", started},
		{CheckModem, "not answering", func(in *Input) { in.Modem = Modem{Since: t0.Add(-time.Minute)} },
			false, "not answering since 2026-12-01T09:59:00Z", t0.Add(-time.Minute)},
		{CheckModem, "not answering, since unknown", func(in *Input) { in.Modem = Modem{} }, false, "not answering", time.Time{}},
		{CheckModem, "a ladder runs", func(in *Input) {
			in.Modem = Modem{Since: t0.Add(-time.Minute), RecoveryStep: "reset", RecoverySince: t0.Add(-20 * time.Second)}
		}, false, "not answering since 2026-12-01T09:59:00Z; recovering: reset since 2026-12-01T09:59:40Z", t0.Add(-time.Minute)},
		{CheckModem, "lent to the dialer", func(in *Input) { in.Session, in.Modem = true, Modem{Since: t0.Add(-time.Minute)} },
			true, "a session is up (modem not answering: its port may be lent to the dialer)", time.Time{}},

		{CheckSIM, "ready", func(in *Input) {}, true, "ready", time.Time{}},
		{CheckSIM, "pin required", func(in *Input) { in.SIM = SIM{State: "pin-required", PINAttempts: 2} }, false, "pin-required, 2 tries left", time.Time{}},
		{CheckSIM, "one try left", func(in *Input) { in.SIM = SIM{State: "pin-required", PINAttempts: 1} }, false, "pin-required, 1 try left", time.Time{}},
		{CheckSIM, "tries unknown, PIN rejected", func(in *Input) {
			in.SIM = SIM{State: "pin-required", PINAttempts: -1, Reason: "PIN rejected, not sent again"}
		}, false, "pin-required, tries left unknown: PIN rejected, not sent again", time.Time{}},
		{CheckSIM, "puk", func(in *Input) { in.SIM = SIM{State: "puk-required", PINAttempts: 0} }, false, "puk-required", time.Time{}},
		{CheckSIM, "absent", func(in *Input) { in.SIM = SIM{State: "absent", PINAttempts: -1} }, false, "absent", time.Time{}},
		{CheckSIM, "not read", func(in *Input) { in.SIM = SIM{} }, false, "unknown", time.Time{}},
		// A locked SIM is the SIM's check, not the modem's.
		{CheckModem, "answers with a locked SIM", func(in *Input) { in.SIM = SIM{State: "pin-required", PINAttempts: 2} }, true, "answering", started},
		{CheckSIM, "session up", func(in *Input) { in.Session, in.SIM = true, SIM{State: "unknown", PINAttempts: -1} },
			true, "a session is up (last read: unknown)", time.Time{}},

		{CheckRegistration, "home", func(in *Input) {}, true, "home, Example Tel, -73 dBm", time.Time{}},
		{CheckRegistration, "roaming, no signal", func(in *Input) { in.Network = Network{Registration: "roaming"} }, true, "roaming, signal unknown", time.Time{}},
		{CheckRegistration, "searching", func(in *Input) { in.Network = Network{Registration: "searching", SignalDBm: -111, SignalKnown: true} },
			false, "searching, -111 dBm", time.Time{}},
		{CheckRegistration, "denied", func(in *Input) { in.Network = Network{Registration: "denied", Operator: "Other Tel"} },
			false, "denied, Other Tel, signal unknown", time.Time{}},
		{CheckRegistration, "not read", func(in *Input) { in.Network = Network{} }, false, "unknown, signal unknown", time.Time{}},
		{CheckRegistration, "session up", func(in *Input) { in.Session, in.Network = true, Network{Registration: "not-registered"} },
			true, "a session is up (last read: not-registered, signal unknown)", time.Time{}},

		{CheckPoll, "recent", func(in *Input) {}, true, "last poll 2026-12-01T09:59:30Z (30s ago, limit 3m0s)", time.Time{}},
		{CheckPoll, "just within 3 gaps", func(in *Input) { in.Poll.Last = t0.Add(-3 * time.Minute) },
			true, "last poll 2026-12-01T09:57:00Z (3m0s ago, limit 3m0s)", time.Time{}},
		{CheckPoll, "overdue", func(in *Input) { in.Poll.Last = t0.Add(-3*time.Minute - time.Second) },
			false, "last poll 2026-12-01T09:56:59Z (3m1s ago, over 3 × the schedule's longest gap 1m0s)", t0.Add(-time.Second)},
		{CheckPoll, "a long gap in the schedule", func(in *Input) { in.Poll = Poll{Last: t0.Add(-2 * time.Hour), LongestGap: time.Hour} },
			true, "last poll 2026-12-01T08:00:00Z (2h0m0s ago, limit 3h0m0s)", time.Time{}},
		{CheckPoll, "none yet, just started", func(in *Input) { in.Started, in.Poll.Last = t0.Add(-time.Minute), time.Time{} },
			true, "no poll since start-up at 2026-12-01T09:59:00Z (1m0s ago, limit 3m0s)", time.Time{}},
		{CheckPoll, "none since start-up", func(in *Input) { in.Started, in.Poll.Last = t0.Add(-5*time.Minute), t0.Add(-time.Hour) },
			false, "no poll since start-up at 2026-12-01T09:55:00Z (5m0s ago, over 3 × the schedule's longest gap 1m0s)", t0.Add(-2 * time.Minute)},
		{CheckPoll, "gap unknown", func(in *Input) { in.Poll.LongestGap = 0 }, false, "the schedule's longest gap is not known", time.Time{}},
		{CheckPoll, "paused by a session", func(in *Input) { in.Session, in.Poll.Last = true, t0.Add(-time.Hour) },
			true, "a session is up (polling paused; last poll 2026-12-01T09:00:00Z)", time.Time{}},

		{CheckStorage, "room", func(in *Input) {}, true, "2 of 30 used", time.Time{}},
		{CheckStorage, "one slot left", func(in *Input) { in.Storage = Storage{Used: 29, Total: 30} }, true, "29 of 30 used", time.Time{}},
		{CheckStorage, "full", func(in *Input) { in.Storage = Storage{Used: 30, Total: 30} }, false, "full: 30 of 30 used", time.Time{}},
		{CheckStorage, "not read", func(in *Input) { in.Storage = Storage{} }, true, "not read yet", time.Time{}},
		{CheckStorage, "full during a session", func(in *Input) { in.Session, in.Storage = true, Storage{Used: 10, Total: 10} },
			false, "full: 10 of 10 used", time.Time{}},

		{CheckLockout, "none", func(in *Input) {}, true, "none", time.Time{}},
		{CheckLockout, "in force", func(in *Input) { in.LockoutUntil = t0.Add(15 * time.Minute) }, false, "locked out until 2026-12-01T10:15:00Z", time.Time{}},
		{CheckLockout, "over", func(in *Input) { in.LockoutUntil = t0.Add(-time.Minute) },
			true, "none (the last ended 2026-12-01T09:59:00Z)", t0.Add(-time.Minute)},

		{CheckCrashLeftovers, "none", func(in *Input) {}, true, "none", time.Time{}},
		{CheckCrashLeftovers, "clean-up failed", func(in *Input) {
			in.Cleanup = &link.CleanupFailure{FailedAt: t0.Add(-time.Hour), Error: "kill pppd: operation not permitted", Left: []string{"dialer pid 4242", "route 203.0.113.7/32 via ppp0"}}
		}, false, "clean-up failed at 2026-12-01T09:00:00Z: kill pppd: operation not permitted; left: dialer pid 4242, route 203.0.113.7/32 via ppp0", t0.Add(-time.Hour)},

		{CheckConsole, "open", func(in *Input) {}, true, "open", started},
		{CheckConsole, "not configured", func(in *Input) { in.Console = Console{} }, true, "not configured", time.Time{}},
		{CheckConsole, "unplugged", func(in *Input) { in.Console = Console{Configured: true, Since: t0.Add(-time.Minute)} },
			false, "not open since 2026-12-01T09:59:00Z", t0.Add(-time.Minute)},
		{CheckConsole, "never opened", func(in *Input) { in.Console = Console{Configured: true} }, false, "not open", time.Time{}},

		{CheckDrill, "passed", func(in *Input) {}, true, "last drill 2026-12-01T07:00:00Z passed (next due by 2026-12-03T07:00:00Z)", t0.Add(-3 * time.Hour)},
		{CheckDrill, "not configured", func(in *Input) { in.Drill = Drill{} }, true, "no drill.schedule", time.Time{}},
		{CheckDrill, "not configured, a drill by hand failed", func(in *Input) {
			in.Drill = Drill{Last: t0.Add(-time.Minute), FailedStep: "tunnel", Reason: "jump HOST KEY CHANGED"}
		}, false, "last drill 2026-12-01T09:59:00Z failed at tunnel: jump HOST KEY CHANGED", t0.Add(-time.Minute)},
		{CheckDrill, "not configured, a drill by hand passed", func(in *Input) { in.Drill = Drill{Last: t0.Add(-time.Minute), OK: true} },
			true, "no drill.schedule", time.Time{}},
		{CheckDrill, "failed", func(in *Input) {
			in.Drill = Drill{Configured: true, Period: 24 * time.Hour, Last: t0.Add(-time.Hour), FailedStep: "tunnel", Reason: "jump host refused the key"}
		}, false, "last drill 2026-12-01T09:00:00Z failed at tunnel: jump host refused the key", t0.Add(-time.Hour)},
		{CheckDrill, "failed, still failing in a session", func(in *Input) {
			in.Session = true
			in.Drill = Drill{Configured: true, Period: 24 * time.Hour, Last: t0.Add(-time.Hour), FailedStep: "push"}
		}, false, "last drill 2026-12-01T09:00:00Z failed at push", t0.Add(-time.Hour)},
		{CheckDrill, "overdue, counted from start-up", func(in *Input) { in.Started, in.Drill.Last = t0.Add(-60*time.Hour), t0.Add(-61*time.Hour) },
			false, "overdue: last drill 2026-11-28T21:00:00Z passed, none since start-up at 2026-11-28T22:00:00Z, 60h0m0s ago (limit 2 × 24h0m0s)", t0.Add(-12 * time.Hour)},
		{CheckDrill, "old, but the daemon just started", func(in *Input) { in.Started, in.Drill.Last = t0.Add(-time.Hour), t0.Add(-200*time.Hour) },
			true, "last drill 2026-11-23T02:00:00Z passed, none since start-up at 2026-12-01T09:00:00Z (next due by 2026-12-03T09:00:00Z)", t0.Add(-200 * time.Hour)},
		{CheckDrill, "two periods old, still within", func(in *Input) { in.Started, in.Drill.Last = t0.Add(-72*time.Hour), t0.Add(-48*time.Hour) },
			true, "last drill 2026-11-29T10:00:00Z passed (next due by 2026-12-01T10:00:00Z)", t0.Add(-48 * time.Hour)},
		{CheckDrill, "older than two periods", func(in *Input) { in.Started, in.Drill.Last = t0.Add(-72*time.Hour), t0.Add(-48*time.Hour-time.Second) },
			false, "overdue: last drill 2026-11-29T09:59:59Z passed, 48h0m1s ago (limit 2 × 24h0m0s)", t0.Add(-time.Second)},
		{CheckDrill, "none yet, first period from start-up", func(in *Input) { in.Started, in.Drill.Last, in.Drill.OK = t0.Add(-30*time.Hour), time.Time{}, false },
			true, "no drill since start-up at 2026-11-30T04:00:00Z (next due by 2026-12-02T04:00:00Z)", time.Time{}},
		{CheckDrill, "none since start-up two periods ago", func(in *Input) { in.Started, in.Drill.Last, in.Drill.OK = t0.Add(-49*time.Hour), time.Time{}, false },
			false, "overdue: no drill since start-up at 2026-11-29T09:00:00Z, 49h0m0s ago (limit 2 × 24h0m0s)", t0.Add(-time.Hour)},
		{CheckDrill, "period unknown", func(in *Input) { in.Drill.Period = 0 }, false, "the drill schedule's period is not known", time.Time{}},
		{CheckDrill, "overdue during a session", func(in *Input) {
			in.Session, in.Started, in.Drill.Last = true, t0.Add(-72*time.Hour), t0.Add(-50*time.Hour)
		},
			true, "a session is up (drills wait; last drill 2026-11-29T08:00:00Z passed)", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.check+"/"+tt.name, func(t *testing.T) {
			in := healthy()
			tt.change(&in)
			var got *Check
			checks := Evaluate(in, t0)
			for i := range checks {
				if checks[i].Name == tt.check {
					got = &checks[i]
				}
			}
			if got == nil {
				t.Fatalf("no check %q in %+v", tt.check, checks)
			}
			if got.OK != tt.ok || got.Detail != tt.detail || !got.Since.Equal(tt.since) {
				t.Errorf("got ok=%v %q since %v\nwant ok=%v %q since %v", got.OK, got.Detail, got.Since, tt.ok, tt.detail, tt.since)
			}
		})
	}
}

// A session in progress is healthy: everything it upsets at once still
// passes.
func TestEvaluateSessionInProgressIsHealthy(t *testing.T) {
	in := healthy()
	in.Session = true
	in.Modem = Modem{Since: t0.Add(-10 * time.Minute)}
	in.SIM = SIM{State: "unknown", PINAttempts: -1}
	in.Network = Network{Registration: "unknown"}
	in.Poll.Last = t0.Add(-10 * time.Minute)
	in.Started, in.Drill.Last = t0.Add(-100*time.Hour), t0.Add(-50*time.Hour)
	for _, c := range Evaluate(in, t0) {
		if !c.OK {
			t.Errorf("%s fails during a session: %s", c.Name, c.Detail)
		}
	}
}

func TestModemFrom(t *testing.T) {
	st := modem.Stats{Answering: false, Since: t0, Recovery: modem.Recovery{Step: modem.StepReset, Since: t0.Add(time.Minute)}}
	want := Modem{Answering: false, Since: t0, RecoveryStep: "reset", RecoverySince: t0.Add(time.Minute)}
	if got := ModemFrom(st); got != want {
		t.Fatalf("ModemFrom = %+v, want %+v", got, want)
	}
	c := modemCheck(Input{Modem: ModemFrom(st)})
	if c.OK || !strings.Contains(c.Detail, "reset") {
		t.Fatalf("modem check of a modem in its reset rung: %+v", c)
	}
}
