package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSessionIsHeldUntilItsEnd(t *testing.T) {
	tests := []struct {
		name  string
		asked time.Duration // by the up; 0: the configured default
		// during runs while the session is held, at the time it says,
		// and returns the end it was told (zero: none).
		during func(r *rig) time.Time
		want   time.Duration // from the start to the end
	}{
		{name: "the configured duration", want: 30 * time.Minute},
		{name: "the duration asked", asked: 10 * time.Minute, want: 10 * time.Minute},
		{name: "asked beyond the cap", asked: 2 * time.Hour, want: 45 * time.Minute},
		{
			name: "extended",
			during: func(r *rig) time.Time {
				r.clk.Advance(5 * time.Minute)
				until, err := r.c.Extend(10 * time.Minute)
				if err != nil {
					r.t.Fatal(err)
				}
				return until
			},
			want: 40 * time.Minute,
		},
		{
			name: "extended beyond the cap",
			during: func(r *rig) time.Time {
				until, err := r.c.Extend(time.Hour)
				if err != nil {
					r.t.Fatal(err)
				}
				return until
			},
			want: 45 * time.Minute,
		},
		{
			name: "another up asking for more",
			during: func(r *rig) time.Time {
				r.clk.Advance(5 * time.Minute)
				o := r.outcome(r.c.Up("+46701234567", false, 35*time.Minute))
				if !o.Already || o.Err != nil || len(o.Forwards) != 1 {
					r.t.Fatalf("second up = %+v, want Already", o)
				}
				return o.Until
			},
			want: 40 * time.Minute,
		},
		{
			name: "another up asking for less never shortens it",
			during: func(r *rig) time.Time {
				r.clk.Advance(5 * time.Minute)
				return r.outcome(r.c.Up("", true, time.Minute)).Until
			},
			want: 30 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, baseConfig)
			o := r.up(tt.asked)
			if len(o.Forwards) != 1 || o.Forwards[0].BoundPort != 40022 {
				t.Fatalf("outcome = %+v", o)
			}
			rep, active := r.c.Status()
			if !active || rep.State != StateUp || !rep.Started.Equal(epoch) || !rep.Until.Equal(o.Until) ||
				rep.Interface != "ppp0" || rep.LocalIP != "10.64.0.2" || rep.RequestedBy != "+46701234567" {
				t.Fatalf("status while up = %+v active=%v", rep, active)
			}
			want := rep.Started.Add(tt.want)
			if tt.during != nil {
				if told := tt.during(r); !told.Equal(want) {
					t.Fatalf("told the end is %v, want %v", told, want)
				}
			}
			r.endsAt(want)
			if got := r.notices.last(t); got.Reason != "time is up" || !got.Ended.Equal(want) || got.Reconnects != 2 {
				t.Fatalf("down notice = %+v", got)
			}
			if _, err := r.c.Extend(time.Minute); !errors.Is(err, ErrNoSession) {
				t.Fatalf("extend after the end: %v", err)
			}
		})
	}
}

// The session's time runs from the self-check: what is asked while it
// is being set up moves the end it will get.
func TestRequestsWhileDialing(t *testing.T) {
	tests := []struct {
		name string
		// while runs while the first up dials; it may return a second
		// up's outcome channel.
		while func(r *rig) <-chan Outcome
		want  time.Duration
	}{
		{name: "nothing", while: func(*rig) <-chan Outcome { return nil }, want: 30 * time.Minute},
		{
			name: "extend",
			while: func(r *rig) <-chan Outcome {
				if until, err := r.c.Extend(10 * time.Minute); err != nil || !until.IsZero() {
					r.t.Fatalf("extend while dialing = %v, %v; want no end yet", until, err)
				}
				return nil
			},
			want: 40 * time.Minute,
		},
		{
			name: "extend beyond the cap",
			while: func(r *rig) <-chan Outcome {
				r.c.Extend(time.Hour)
				return nil
			},
			want: 45 * time.Minute,
		},
		{
			name:  "another up asking for more",
			while: func(r *rig) <-chan Outcome { return r.c.Up("", true, 40*time.Minute) },
			want:  40 * time.Minute,
		},
		{
			name:  "another up asking for less",
			while: func(r *rig) <-chan Outcome { return r.c.Up("", true, 10*time.Minute) },
			want:  30 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, baseConfig)
			gate := make(chan struct{})
			r.link.set(func(l *fakeLink) { l.gate = gate })
			first := r.c.Up("+46701234567", false, 0)
			r.waitEvent("link dialing 1")
			second := tt.while(r)
			// The dial takes five minutes; they do not count.
			r.clk.Advance(5 * time.Minute)
			close(gate)
			o := r.outcome(first)
			start := epoch.Add(5 * time.Minute)
			if o.Err != nil || !o.Until.Equal(start.Add(tt.want)) {
				t.Fatalf("outcome = %+v, want until %v", o, start.Add(tt.want))
			}
			if second != nil {
				if o2 := r.outcome(second); o2.Err != nil || o2.Already || !o2.Until.Equal(o.Until) {
					t.Fatalf("second up's outcome = %+v, want the first's %+v", o2, o)
				}
			}
			r.holding()
			r.endsAt(o.Until)
		})
	}
}

// Every way a session ends takes down what was up in reverse, gives the
// modem back to the inbox after the link is down and before the notice,
// and says why and at which step.
func TestEveryExitTearsDownInReverse(t *testing.T) {
	const who = "+46701234567"
	tests := []struct {
		name string
		// run starts the session, ends it, and returns the up's outcome.
		run         func(r *rig) Outcome
		wantOutcome string // the outcome's error; "" for none
		wantStep    string
		wantReason  string
		wantDrill   bool
		wantEvents  []string
	}{
		{
			name: "time is up",
			run: func(r *rig) Outcome {
				o := r.up(0)
				r.clk.Advance(30 * time.Minute)
				return o
			},
			wantReason: "time is up",
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check passed", "notice up until=true via=true",
				"tunnel closed", "link down 1", "modem reacquired", "notice down: time is up"},
		},
		{
			name: "down while up",
			run: func(r *rig) Outcome {
				o := r.up(0)
				if err := r.c.Down("down by " + who); err != nil {
					r.t.Fatal(err)
				}
				return o
			},
			wantReason: "down by " + who,
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check passed", "notice up until=true via=true",
				"tunnel closed", "link down 1", "modem reacquired", "notice down: down by " + who},
		},
		{
			name: "kill while dialing",
			run: func(r *rig) Outcome {
				r.link.set(func(l *fakeLink) { l.gate = make(chan struct{}) })
				ch := r.c.Up(who, false, 0)
				r.waitEvent("link dialing 1")
				if err := r.c.Down("kill by " + who); err != nil {
					r.t.Fatal(err)
				}
				return r.outcome(ch)
			},
			wantOutcome: "kill by " + who, wantStep: "cancelled", wantReason: "kill by " + who,
			wantEvents: []string{"modem released", "link dialing 1", "link dial ended 1: kill by " + who,
				"modem reacquired", "notice failed: kill by " + who},
		},
		{
			name: "dial fails",
			run: func(r *rig) Outcome {
				r.link.set(func(l *fakeLink) { l.fail = 1 })
				return r.outcome(r.c.Up(who, false, 0))
			},
			wantOutcome: "PPP x3: no IP", wantStep: "link", wantReason: "PPP x3: no IP",
			wantEvents: []string{"modem released", "link failed 1", "modem reacquired", "notice failed: PPP x3: no IP"},
		},
		{
			name: "tunnel refused",
			run: func(r *rig) Outcome {
				r.openErr = fmt.Errorf("tunnel: ssh to jump: %w", keyChanged{})
				return r.outcome(r.c.Up(who, false, 0))
			},
			wantOutcome: "tunnel: ssh to jump: " + keyChanged{}.Error(), wantStep: "tunnel", wantReason: "HOST KEY CHANGED",
			wantEvents: []string{"modem released", "link up 1", "link down 1", "modem reacquired", "notice failed: HOST KEY CHANGED"},
		},
		{
			name: "self-check fails",
			run: func(r *rig) Outcome {
				r.tun.checkFail = true
				return r.outcome(r.c.Up(who, false, 0))
			},
			wantOutcome: "no SSH banner through the forward", wantStep: "self-check",
			wantReason: "no SSH banner through the forward",
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check failed",
				"tunnel closed", "link down 1", "modem reacquired", "notice failed: no SSH banner through the forward"},
		},
		{
			name: "data budget",
			run: func(r *rig) Outcome {
				o := r.up(0)
				r.link.path(0).rx.Store(1 << 20)
				r.clk.Advance(time.Minute)
				return o
			},
			wantStep: "budget", wantReason: "data budget reached (1048576 bytes)",
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check passed", "notice up until=true via=true",
				"tunnel closed", "link down 1", "modem reacquired", "notice down: data budget reached (1048576 bytes)"},
		},
		{
			name: "link drops and the redial fails",
			run: func(r *rig) Outcome {
				o := r.up(0)
				r.link.set(func(l *fakeLink) { l.fail = 1 })
				r.link.path(0).drop(errors.New("interface ppp0 gone"))
				return o
			},
			wantStep: "redial", wantReason: "interface ppp0 gone; redial failed: PPP x3: no IP",
			// The tunnel, suspended across the redial, is closed in the
			// teardown.
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check passed", "notice up until=true via=true",
				"tunnel suspended", "link down 1", "link failed 2", "tunnel closed",
				"modem reacquired", "notice down: interface ppp0 gone; redial failed: PPP x3: no IP"},
		},
		{
			name: "agent stopping",
			run: func(r *rig) Outcome {
				o := r.up(0)
				r.stop()
				select {
				case <-r.runDone:
				case <-r.ctx.Done():
					r.t.Fatal("Run did not return")
				}
				if o := r.outcome(r.c.Up("", true, 0)); o.Err == nil || o.Step != "start" {
					r.t.Fatalf("up after the agent stopped = %+v", o)
				}
				return o
			},
			wantReason: "agent stopping",
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check passed", "notice up until=true via=true",
				"tunnel closed", "link down 1", "modem reacquired", "notice down: agent stopping"},
		},
		{
			name:       "drill passes",
			run:        func(r *rig) Outcome { return r.outcome(r.c.Drill()) },
			wantReason: "drill passed", wantDrill: true,
			// A drill ends at its self-check, with no notice.
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check passed",
				"tunnel closed", "link down 1", "modem reacquired, texts kept"},
		},
		{
			name: "drill fails",
			run: func(r *rig) Outcome {
				r.tun.checkFail = true
				return r.outcome(r.c.Drill())
			},
			wantOutcome: "no SSH banner through the forward", wantStep: "self-check",
			wantReason: "no SSH banner through the forward", wantDrill: true,
			// A drill's failure is its runner's to tell.
			wantEvents: []string{"modem released", "link up 1", "tunnel open", "self-check failed",
				"tunnel closed", "link down 1", "modem reacquired, texts kept"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig
			cfg.DataBudget = 1000
			r := newRig(t, cfg, singlePort)
			o := tt.run(r)
			if tt.wantOutcome == "" && o.Err != nil || tt.wantOutcome != "" && (o.Err == nil || o.Err.Error() != tt.wantOutcome) {
				t.Fatalf("outcome error = %v, want %q", o.Err, tt.wantOutcome)
			}
			if tt.wantOutcome != "" && o.Step != tt.wantStep {
				t.Fatalf("outcome step = %q, want %q", o.Step, tt.wantStep)
			}
			rep := r.wait()
			if got := r.ev.all(); !slices.Equal(got, tt.wantEvents) {
				t.Fatalf("events:\n got %q\nwant %q", got, tt.wantEvents)
			}
			if rep.Step != tt.wantStep || rep.Reason != tt.wantReason || rep.Drill != tt.wantDrill ||
				rep.Ended.IsZero() || rep.Ended.Before(rep.Started) {
				t.Fatalf("last session = %+v; want step %q reason %q", rep, tt.wantStep, tt.wantReason)
			}
			// The record shows each state the session passed, ending idle.
			states := r.rec.states()
			if states[0] != StateDialing || !slices.Equal(states[len(states)-2:], []State{StateTearDown, StateIdle}) {
				t.Fatalf("recorded states %v", states)
			}
			if up := slices.Contains(states, StateUp); up != (tt.wantOutcome == "") {
				t.Fatalf("recorded states %v; up recorded %v, want %v", states, up, tt.wantOutcome == "")
			}
		})
	}
}

func TestModemHandOverFailureDialsNothing(t *testing.T) {
	r := newRig(t, baseConfig, singlePort)
	r.port.releaseErr = errors.New("inbox busy")
	o := r.outcome(r.c.Up("+46701234567", false, 0))
	if o.Err == nil || o.Err.Error() != "inbox busy" || o.Step != "modem" {
		t.Fatalf("outcome = %+v", o)
	}
	r.wait()
	if got, want := r.ev.all(), []string{"modem not released", "notice failed: modem hand-over: inbox busy"}; !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	if f := r.notices.last(t); f.Step != "modem" {
		t.Fatalf("failed notice = %+v", f)
	}
}

func TestDataBudget(t *testing.T) {
	tests := []struct {
		name    string
		budget  uint64
		rx, tx  uint64 // through the link after the first minute
		wantEnd bool
	}{
		{"under the budget", 1000, 300, 200, false},
		{"at the budget", 1000, 900, 100, true},
		{"over the budget", 1000, 900, 600, true},
		{"no budget", 0, 1 << 40, 1 << 40, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig
			cfg.DataBudget = tt.budget
			r := newRig(t, cfg)
			r.up(0)
			// A tick already due may read the bytes at once: skip first.
			r.rec.skip()
			p := r.link.path(0)
			p.rx.Store(tt.rx)
			p.tx.Store(tt.tx)
			r.clk.Advance(time.Minute)
			// Each reading is recorded, by direction.
			rep := r.waitRecord(func(rep Report) bool { return rep.State == StateUp && rep.Bytes > 0 })
			if rep.Bytes != tt.rx+tt.tx || rep.BytesRx != tt.rx || rep.BytesTx != tt.tx || rep.Reconnects != 2 {
				t.Fatalf("recorded reading = %+v", rep)
			}
			if !tt.wantEnd {
				r.endsAt(epoch.Add(30 * time.Minute))
				return
			}
			rep = r.wait()
			if rep.Step != "budget" || rep.Reason != fmt.Sprintf("data budget reached (%d bytes)", tt.rx+tt.tx) ||
				!rep.Ended.Equal(epoch.Add(time.Minute)) {
				t.Fatalf("last session = %+v", rep)
			}
			if d := r.notices.last(t); d.Bytes != tt.rx+tt.tx || d.BytesRx != tt.rx || d.BytesTx != tt.tx {
				t.Fatalf("down notice bytes = %d (%d rx, %d tx)", d.Bytes, d.BytesRx, d.BytesTx)
			}
		})
	}
}

// An idle session's budget ticks record nothing while the link's bytes
// and the tunnel's reconnects stay the same (no state file write a second).
func TestIdleTicksRecordNothing(t *testing.T) {
	r := newRig(t, baseConfig)
	r.up(0)
	r.clk.Advance(time.Minute) // the first reading (the fake tunnel's reconnects)
	r.waitRecord(func(rep Report) bool { return rep.Reconnects == 2 })
	for range 10 {
		r.clk.Advance(time.Minute)
	}
	r.link.path(0).rx.Store(100)
	r.clk.Advance(time.Minute)
	r.waitRecord(func(rep Report) bool { return rep.BytesRx == 100 })
	all := r.rec.all()
	if n := len(all); n < 2 || all[n-2].Reconnects != 2 || all[n-2].BytesRx != 0 {
		t.Errorf("records between the first reading and the bytes: %+v", all)
	}
	var ups int
	for _, rep := range all {
		if rep.State == StateUp {
			ups++
		}
	}
	if ups != 3 { // up, the first reading, the bytes
		t.Errorf("%d records while up, want 3: idle ticks recorded", ups)
	}
	r.endsAt(epoch.Add(30 * time.Minute))
}

// The tunnel connects again by itself (its jump host restarted) and its
// port 0 forward gets another port: the session records the new one.
func TestTunnelReconnectRefreshesForwards(t *testing.T) {
	r := newRig(t, baseConfig)
	r.up(0)
	r.rec.skip()
	r.tun.set(func(t *fakeTunnel) { t.reconnects, t.ports, t.resumes = 3, []int{40022, 40023}, 1 })
	r.clk.Advance(time.Minute)
	rep := r.waitRecord(func(rep Report) bool { return rep.Reconnects == 3 })
	if len(rep.Forwards) != 1 || rep.Forwards[0].BoundPort != 40023 {
		t.Errorf("forwards after the tunnel's reconnect: %+v, want port 40023", rep.Forwards)
	}
	r.endsAt(epoch.Add(30 * time.Minute))
}

// A link that drops by itself is dialed again while the session has
// time, as often as it drops, and the tunnel, suspended meanwhile, is
// resumed on each new link (never opened again); the session keeps its
// end, and counts the bytes of every link.
func TestLinkDropIsRedialed(t *testing.T) {
	r := newRig(t, baseConfig)
	o := r.up(0)
	// Each link carries some bytes, then drops (the last lasts).
	carried := [][2]uint64{{70, 30}, {40, 10}, {5, 1}}
	for i, b := range carried {
		p := r.link.path(i)
		p.rx.Store(b[0])
		p.tx.Store(b[1])
		if i == len(carried)-1 {
			break
		}
		r.clk.Advance(10 * time.Minute)
		p.drop(errors.New("pppd exited with status 16"))
		r.waitEvent(fmt.Sprintf("link up %d", i+2))
		rep := r.waitRecord(func(rep Report) bool { return rep.State == StateUp && rep.Redials == i+1 })
		if rep.Interface != "ppp0" || !rep.Until.Equal(o.Until) {
			t.Fatalf("after redial %d: %+v", i+1, rep)
		}
	}
	end := r.endsAt(o.Until)
	if end.Bytes != 156 || end.BytesRx != 115 || end.BytesTx != 41 || end.Redials != 2 {
		t.Fatalf("last session = %+v", end)
	}
	want := []string{
		"link up 1", "tunnel open", "self-check passed", "notice up until=true via=true",
		"tunnel suspended", "link down 1", "link up 2",
		"tunnel resumed on link 2 at 10.64.0.2", "rebound to link 2", "self-check passed",
		"tunnel suspended", "link down 2", "link up 3",
		"tunnel resumed on link 3 at 10.64.0.2", "rebound to link 3", "self-check passed",
		"tunnel closed", "link down 3", "notice down: time is up",
	}
	if got := r.ev.all(); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	wantStates := []State{
		StateDialing, StateTunnel, StateUp,
		StateDialing, StateTunnel, StateUp,
		StateDialing, StateTunnel, StateUp,
		StateTearDown, StateIdle,
	}
	if got := r.rec.states(); !slices.Equal(got, wantStates) {
		t.Fatalf("recorded states %v, want %v", got, wantStates)
	}
}

// linkDropped is a link's drop error, which says itself in a few words.
type linkDropped struct{}

func (linkDropped) Error() string   { return "link: ppp0: pppd exited with status 16: modem hung up" }
func (linkDropped) Summary() string { return "pppd exited" }

func TestRedialFailures(t *testing.T) {
	tests := []struct {
		name string
		// hold makes the redial's dial wait (for then); else it fails.
		hold       bool
		then       func(r *rig)
		wantReason string
		wantEnded  time.Duration // after the start
	}{
		{
			name:       "the link does not come up",
			wantReason: "pppd exited; redial failed: PPP x3: no IP",
			wantEnded:  10 * time.Minute,
		},
		{
			name: "the session's time runs out",
			hold: true,
			then: func(r *rig) {
				// The dial may take only the time the session has left.
				dial := r.link.dialCtx(2)
				r.clk.Advance(20*time.Minute - 1)
				if dial.Err() != nil {
					r.t.Fatalf("redial cut short before the session's end: %v", context.Cause(dial))
				}
				r.clk.Advance(1)
				if dial.Err() == nil {
					r.t.Fatal("redial not ended at the session's end")
				}
				if got := r.waitEvent("link dial ended 2"); got != "link dial ended 2: context deadline exceeded" {
					r.t.Fatalf("redial ended with %q", got)
				}
			},
			wantReason: "pppd exited; time ran out while redialing",
			wantEnded:  30 * time.Minute,
		},
		{
			name: "a down during the redial",
			hold: true,
			then: func(r *rig) {
				r.c.Down("down by +46701234567")
				if got := r.waitEvent("link dial ended 2"); got != "link dial ended 2: down by +46701234567" {
					r.t.Fatalf("redial ended with %q", got)
				}
			},
			wantReason: "pppd exited; redial failed: down by +46701234567",
			wantEnded:  10 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, baseConfig)
			r.up(0)
			r.link.path(0).rx.Store(100)
			r.clk.Advance(10 * time.Minute)
			r.link.set(func(l *fakeLink) {
				if tt.hold {
					l.gate = make(chan struct{})
				} else {
					l.fail = 1
				}
			})
			r.link.path(0).drop(linkDropped{})
			if tt.hold {
				r.waitEvent("link dialing 2")
				tt.then(r)
			}
			rep := r.wait()
			if rep.Step != "redial" || rep.Reason != tt.wantReason || rep.Redials != 1 || rep.Bytes != 100 ||
				!rep.Ended.Equal(epoch.Add(tt.wantEnded)) {
				t.Fatalf("last session = %+v\nwant reason %q, ended at +%v", rep, tt.wantReason, tt.wantEnded)
			}
			if d := r.notices.last(t); d.Reason != tt.wantReason || d.Started.IsZero() {
				t.Fatalf("down notice = %+v", d)
			}
		})
	}
}

func TestDrillIsSkippedWhileASessionRuns(t *testing.T) {
	r := newRig(t, baseConfig)
	o := r.up(0)
	d := r.outcome(r.c.Drill())
	if d.Err == nil || d.Step != "start" || !strings.Contains(d.Err.Error(), "drill skipped") {
		t.Fatalf("drill during a session = %+v", d)
	}
	if rep, active := r.c.Status(); !active || rep.Drill || !rep.Until.Equal(o.Until) {
		t.Fatalf("the session after the drill: %+v active=%v", rep, active)
	}
	r.endsAt(o.Until)
}

// A notice bounded by nothing would hold the lifecycle for as long as the
// network it tries is dead: each is given TeardownTimeout on the clock.
func TestNoticesNeverBlock(t *testing.T) {
	const timeout = 30 * time.Second
	tests := []struct {
		kind string
		// run starts a session whose notice of kind will block, and
		// returns once it has.
		run func(r *rig)
		// after runs once the notice gave up.
		after func(r *rig)
	}{
		{
			kind: "up",
			run: func(r *rig) {
				r.outcome(r.c.Up("+46701234567", false, 0))
				r.waitEvent("notice up")
			},
			after: func(r *rig) {
				// The session is held, and keeps its end.
				r.holding()
				r.endsAt(epoch.Add(30 * time.Minute))
			},
		},
		{
			kind: "failed",
			run: func(r *rig) {
				r.link.set(func(l *fakeLink) { l.fail = 1 })
				r.outcome(r.c.Up("+46701234567", false, 0))
				r.waitEvent("notice failed")
			},
			after: func(r *rig) { r.wait() },
		},
		{
			kind: "down",
			run: func(r *rig) {
				r.up(0)
				r.c.Down("down by +46701234567")
				r.waitEvent("notice down")
			},
			after: func(r *rig) { r.wait() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			r := newRig(t, baseConfig)
			r.notices.block = map[string]bool{tt.kind: true}
			tt.run(r)
			r.clk.Advance(timeout)
			if got, want := r.waitEvent("notice "+tt.kind+" gave up"), "notice "+tt.kind+" gave up: context deadline exceeded"; got != want {
				t.Fatalf("notice ended with %q, want %q", got, want)
			}
			tt.after(r)
		})
	}
}

// An up notice still being sent when the session is ended is cut short
// with the session's reason.
func TestDownCutsTheUpNoticeShort(t *testing.T) {
	r := newRig(t, baseConfig)
	r.notices.block = map[string]bool{"up": true}
	r.outcome(r.c.Up("+46701234567", false, 0))
	r.waitEvent("notice up")
	r.c.Down("kill by +46701234567")
	if got := r.waitEvent("notice up gave up"); got != "notice up gave up: kill by +46701234567" {
		t.Fatalf("up notice ended with %q", got)
	}
	if rep := r.wait(); rep.Reason != "kill by +46701234567" || rep.Step != "" {
		t.Fatalf("last session = %+v", rep)
	}
}

func TestStatusAndWait(t *testing.T) {
	r := newRig(t, baseConfig)
	if rep, active := r.c.Status(); active || rep.State != StateIdle || !rep.Started.IsZero() {
		t.Fatalf("status before any session = %+v active=%v", rep, active)
	}
	if err := r.c.Down("down"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("down with no session: %v", err)
	}
	if err := r.c.Wait(r.ctx); err != nil {
		t.Fatalf("wait with no session: %v", err)
	}
	o := r.up(0)
	cancelled, cancel := context.WithCancel(r.ctx)
	cancel()
	if err := r.c.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait while a session runs, given up = %v", err)
	}
	rep, active := r.c.Status()
	if !active || rep.State != StateUp || len(rep.Forwards) != 1 || !rep.Until.Equal(o.Until) {
		t.Fatalf("status while up = %+v", rep)
	}
	// Status hands out a copy.
	rep.Forwards[0].BoundPort = 1
	if again, _ := r.c.Status(); again.Forwards[0].BoundPort != 40022 {
		t.Fatal("Status shares the session's forwards")
	}
	r.c.Down("down by the local operator")
	last := r.wait()
	if last.RequestedBy != "+46701234567" || last.Reason != "down by the local operator" || last.Forwards[0].BoundPort != 40022 {
		t.Fatalf("last session = %+v", last)
	}
}

func TestControllerNotRunning(t *testing.T) {
	c := New(Config{}, &fakeLink{ev: &events{}}, nil, &fakeNotices{ev: &events{}})
	if o := <-c.Up("", true, 0); o.Err == nil || o.Step != "start" {
		t.Fatalf("up before Run = %+v", o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	<-c.Started()
	if err := c.Run(ctx); err == nil {
		t.Fatal("a second Run was accepted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		in, want Config
	}{
		{Config{}, Config{Duration: 30 * time.Minute, MaxDuration: 4 * time.Hour, BudgetCheck: time.Second, TeardownTimeout: 30 * time.Second, BringUpTimeout: DefaultBringUpTimeout}},
		{Config{Duration: 5 * time.Hour, MaxDuration: time.Hour}, Config{Duration: time.Hour, MaxDuration: time.Hour, BudgetCheck: time.Second, TeardownTimeout: 30 * time.Second, BringUpTimeout: DefaultBringUpTimeout}},
		{baseConfig, Config{Duration: 30 * time.Minute, MaxDuration: 45 * time.Minute, BudgetCheck: time.Minute, TeardownTimeout: 30 * time.Second, BringUpTimeout: DefaultBringUpTimeout}},
	}
	for _, tt := range tests {
		got := tt.in
		got.setDefaults()
		if got != tt.want {
			t.Errorf("defaults of %+v = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// An up that joins a session after its outcome was given (during a
// redial, or the teardown) still gets exactly one outcome.
func TestLateUpsAreAnswered(t *testing.T) {
	tests := []struct {
		name string
		// late asks for an up at a late moment of a held session, and
		// lets the session go on.
		late        func(r *rig) <-chan Outcome
		wantAlready bool
		wantErr     string
	}{
		{
			name: "during a redial that works",
			late: func(r *rig) <-chan Outcome {
				gate := make(chan struct{})
				r.link.set(func(l *fakeLink) { l.gate = gate })
				r.link.path(0).drop(errors.New("pppd exited"))
				r.waitEvent("link dialing 2")
				ch := r.c.Up("+46709876543", false, 0)
				close(gate)
				return ch
			},
			wantAlready: true,
		},
		{
			name: "during a redial that fails",
			late: func(r *rig) <-chan Outcome {
				gate := make(chan struct{})
				r.link.set(func(l *fakeLink) { l.gate, l.fail = gate, 1 })
				r.link.path(0).drop(errors.New("pppd exited"))
				r.waitEvent("link dialing 2")
				ch := r.c.Up("+46709876543", false, 0)
				close(gate)
				return ch
			},
			wantErr: "the session ended (pppd exited; redial failed: PPP x3: no IP) before it could take this up; ask again",
		},
		{
			name: "during the teardown",
			late: func(r *rig) <-chan Outcome {
				r.notices.block = map[string]bool{"down": true}
				r.c.Down("down by +46701234567")
				r.waitEvent("notice down")
				ch := r.c.Up("+46709876543", false, 0)
				r.clk.Advance(30 * time.Second)
				return ch
			},
			wantErr: "the session ended (down by +46701234567) before it could take this up; ask again",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, baseConfig)
			first := r.up(0)
			o := r.outcome(tt.late(r))
			if tt.wantAlready {
				if !o.Already || o.Err != nil || !o.Until.Equal(first.Until) || len(o.Forwards) != 1 {
					t.Fatalf("late up = %+v, want Already until %v", o, first.Until)
				}
				r.c.Down("down")
			} else if o.Err == nil || o.Err.Error() != tt.wantErr || o.Step != "start" {
				t.Fatalf("late up = %+v, want %q at start", o, tt.wantErr)
			}
			r.wait()
		})
	}
}

// A drill times each step of the way up and runs its probes (the quiet
// push) through the link before it counts as passed.
func TestDrillStepsAndProbes(t *testing.T) {
	for _, fail := range []bool{false, true} {
		r := newRig(t, baseConfig)
		var via bool
		probe := Probe{Name: "push", Check: func(ctx context.Context, dial DialFunc) error {
			via = dial != nil
			if fail {
				return errors.New("pushover: server error (HTTP 500)")
			}
			return nil
		}}
		o := r.outcome(r.c.Drill(probe))
		rep := r.wait()
		var names []string
		for _, s := range rep.Steps {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"link", "tunnel", "self-check", "push"}) || !via {
			t.Fatalf("steps %v (probe through the link: %v)", names, via)
		}
		last := rep.Steps[len(rep.Steps)-1]
		if fail != (o.Err != nil) || fail && (o.Step != "push" || last.Err == "" || rep.Step != "push") {
			t.Errorf("fail=%v: outcome %+v, last step %+v, report step %q", fail, o, last, rep.Step)
		}
	}
}

// A request for a session during a drill ends the drill (ErrYielded) and
// gets its own session, with its own notices, once the drill is down.
func TestDrillYieldsToASession(t *testing.T) {
	r := newRig(t, baseConfig)
	gate := make(chan struct{})
	r.link.set(func(l *fakeLink) { l.gate = gate })
	drill := r.c.Drill()
	r.waitEvent("link dialing 1")
	up := r.c.Up("+46701234567", false, 0)
	d := r.outcome(drill)
	if !errors.Is(d.Err, ErrYielded) {
		t.Fatalf("the drill's outcome: %+v, want ErrYielded", d)
	}
	close(gate) // the session's own dial goes through
	o := r.outcome(up)
	if o.Err != nil || o.Already {
		t.Fatalf("the session's outcome: %+v, want its own session up", o)
	}
	rep, active := r.c.Status()
	if !active || rep.Drill || rep.RequestedBy != "+46701234567" {
		t.Fatalf("now running: %+v (active %v)", rep, active)
	}
	r.waitEvent("notice up")
}

func TestOutcomeReasonSaysTheStepOnce(t *testing.T) {
	hostKey := errors.New("host key changed")
	tests := []struct {
		name string
		o    Outcome
		want string
	}{
		{"success", Outcome{}, ""},
		{"package prefix equal to the step", Outcome{Step: "tunnel", Err: fmt.Errorf("tunnel: %w", hostKey)}, "host key changed"},
		{"another step's prefix stays", Outcome{Step: "self-check", Err: fmt.Errorf("tunnel: %w", hostKey)}, "tunnel: host key changed"},
		{"no step", Outcome{Err: hostKey}, "host key changed"},
		{"the step word inside the text stays", Outcome{Step: "link", Err: errors.New("no link: ppp0 gone")}, "no link: ppp0 gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.o.Reason(); got != tt.want {
				t.Errorf("Reason() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A way up that hangs (a dialer that never says yes or no) ends at
// BringUpTimeout, and says so: the session's loop is never busy longer
// than the watchdog allows.
func TestBringUpIsBounded(t *testing.T) {
	r := newRig(t, baseConfig)
	r.link.set(func(l *fakeLink) { l.gate = make(chan struct{}) })
	out := r.c.Up("+46701234567", false, 0)
	r.waitEvent("link dialing 1")
	dial := r.link.dialCtx(1)
	r.clk.Advance(DefaultBringUpTimeout - 1)
	if dial.Err() != nil {
		t.Fatalf("the dial was cut short at %v: %v", DefaultBringUpTimeout-1, context.Cause(dial))
	}
	r.clk.Advance(1)
	o := r.outcome(out)
	if o.Step != "link" || !strings.HasPrefix(o.Reason(), "the way up took more than 8m0s: ") {
		t.Fatalf("outcome = step %q, reason %q", o.Step, o.Reason())
	}
	if rep := r.wait(); rep.Reason != "took more than 8m0s" || rep.Step != "link" {
		t.Fatalf("last session = %+v", rep)
	}
}

func TestReportOutcome(t *testing.T) {
	started := epoch
	tests := []struct {
		rep  Report
		want string
	}{
		{Report{Drill: true, Reason: ErrYielded.Error()}, "yielded"},
		{Report{Drill: true, Started: started, Reason: "torn down: " + ErrYielded.Error()}, "yielded"},
		{Report{Reason: "PPP x3: no IP", Step: "link"}, "failed"},
		{Report{Drill: true, Started: started, Reason: "drill done"}, "completed"},
		{Report{Started: started, Reason: ReasonTimeUp}, "expired"},
		{Report{Started: started, Reason: "pppd exited; redial failed: no IP", Step: "redial"}, "dropped"},
		{Report{Started: started, Reason: "down by +46701234567"}, "stopped"},
		{Report{Started: started, Reason: "data budget reached (100 bytes)", Step: "budget"}, "stopped"},
	}
	for _, tt := range tests {
		if got := tt.rep.Outcome(); got != tt.want {
			t.Errorf("Outcome of %+v = %q, want %q", tt.rep, got, tt.want)
		}
	}
}

// Dialing closes when the way up reaches the dialer: after a single-port
// modem's hand-over, before the dial; at once when nothing runs; and when
// a session ends before it dialed.
func TestDialingClosesAtTheDialer(t *testing.T) {
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	t.Run("nothing runs", func(t *testing.T) {
		r := newRig(t, baseConfig)
		if !closed(r.c.Dialing()) {
			t.Fatal("Dialing is open with no session")
		}
	})
	t.Run("after the hand-over", func(t *testing.T) {
		gate := make(chan struct{})
		r := newRig(t, baseConfig, singlePort, func(r *rig) { r.port.gate = gate })
		out := r.c.Up("+46701234567", false, 0)
		r.waitEvent("modem releasing")
		dialing := r.c.Dialing()
		if closed(dialing) {
			t.Fatal("Dialing closed before the modem was handed over")
		}
		close(gate)
		r.waitEvent("link up 1")
		if !closed(dialing) {
			t.Fatal("Dialing still open after the dial")
		}
		r.outcome(out)
	})
	t.Run("the hand-over fails", func(t *testing.T) {
		gate := make(chan struct{})
		r := newRig(t, baseConfig, singlePort, func(r *rig) {
			r.port.gate, r.port.releaseErr = gate, errors.New("port busy")
		})
		out := r.c.Up("+46701234567", false, 0)
		r.waitEvent("modem releasing")
		dialing := r.c.Dialing()
		close(gate)
		if o := r.outcome(out); o.Err == nil {
			t.Fatal("the up came up without its modem")
		}
		r.wait()
		if !closed(dialing) {
			t.Fatal("Dialing still open after the session ended")
		}
	})
}
