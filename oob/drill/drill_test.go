package drill

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
)

var t0 = time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)

// fakeSessions runs a drill as told: its probes through a stand-in link,
// then the outcome.
type fakeSessions struct {
	active  bool
	outcome session.Outcome
	steps   []session.StepTime
	probed  []string
}

func (f *fakeSessions) Drill(probes ...session.Probe) <-chan session.Outcome {
	out := make(chan session.Outcome, 1)
	o := f.outcome
	if o.Err == nil {
		link := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("unused") }
		for _, p := range probes {
			f.probed = append(f.probed, p.Name)
			if err := p.Check(context.Background(), link); err != nil {
				o = session.Outcome{Err: err, Step: p.Name}
				break
			}
		}
	}
	out <- o
	return out
}

func (f *fakeSessions) Status() (session.Report, bool) {
	return session.Report{Drill: true, Steps: f.steps, Bytes: 4321}, f.active
}

func (f *fakeSessions) Wait(context.Context) error { return nil }

type push struct {
	title    string
	priority int
	viaLink  bool
}

type fakePusher struct {
	mu   sync.Mutex
	got  []push
	fail error
}

func (f *fakePusher) Send(_ context.Context, m notify.Message, via notify.DialFunc) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, push{m.Title, m.Priority, via != nil})
	return f.fail
}

type fakeTexter struct {
	mu   sync.Mutex
	sent map[string][]string
	on   func(to, text string)
}

func (f *fakeTexter) Send(_ context.Context, to, text string) {
	f.mu.Lock()
	if f.sent == nil {
		f.sent = map[string][]string{}
	}
	f.sent[to] = append(f.sent[to], text)
	on := f.on
	f.mu.Unlock()
	if on != nil {
		on(to, text)
	}
}

type rig struct {
	r     *Runner
	s     *fakeSessions
	push  *fakePusher
	sms   *fakeTexter
	store *state.Store
}

func newRig(t *testing.T) *rig {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{s: &fakeSessions{steps: []session.StepTime{{Name: "dial", Took: time.Second}, {Name: "path"}, {Name: "tunnel"}, {Name: "self-check"}}},
		push: &fakePusher{}, sms: &fakeTexter{}, store: store}
	g.r = &Runner{Sessions: g.s, Store: store, Push: g.push, SMS: g.sms, Extra: []string{"+46709999999"},
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return t0 }}
	return g
}

func TestDrillOutcomesAndNotices(t *testing.T) {
	g := newRig(t)
	// A pass: the quiet push through the link, recorded, nobody alerted.
	if o := g.r.Run(context.Background(), Scheduled); o.Err != nil {
		t.Fatal(o.Err)
	}
	d := g.store.Snapshot().LastDrill
	if d == nil || !d.OK || d.Kind != Scheduled || len(d.Steps) != 4 || d.Bytes != 4321 {
		t.Fatalf("recorded %+v", d)
	}
	if want := []push{{"oobd: drill", notify.PriorityQuiet, true}}; !slices.Equal(g.push.got, want) || len(g.sms.sent) != 0 {
		t.Fatalf("a pass: pushes %+v, texts %v; want only the quiet push through the link", g.push.got, g.sms.sent)
	}

	// A failure: loud push and a text to notify.sms.
	g.push.got = nil
	g.s.outcome = session.Outcome{Err: errors.New("jump HOST KEY CHANGED"), Step: "tunnel"}
	g.r.Run(context.Background(), Manual)
	d = g.store.Snapshot().LastDrill
	if d.OK || d.Step != "tunnel" || d.Kind != Manual {
		t.Fatalf("recorded %+v", d)
	}
	if len(g.push.got) != 1 || g.push.got[0].title != "oobd: DRILL FAILED" || g.push.got[0].viaLink ||
		len(g.sms.sent["+46709999999"]) != 1 || !strings.Contains(g.sms.sent["+46709999999"][0], "tunnel") {
		t.Fatalf("a failure: pushes %+v, texts %v", g.push.got, g.sms.sent)
	}

	// The first pass after it says so, the same way.
	g.push.got, g.sms.sent = nil, nil
	g.s.outcome = session.Outcome{}
	g.r.Run(context.Background(), Scheduled)
	titles := []string{}
	for _, p := range g.push.got {
		titles = append(titles, p.title)
	}
	if !slices.Equal(titles, []string{"oobd: drill", "oobd: backup path OK again"}) || len(g.sms.sent["+46709999999"]) != 1 {
		t.Fatalf("the pass after a failure: pushes %v, texts %v", titles, g.sms.sent)
	}

	// A push that fails fails the drill at its step.
	g.push.fail = errors.New("pushover: server error (HTTP 500)")
	if o := g.r.Run(context.Background(), Scheduled); o.Step != StepPush {
		t.Fatalf("a failing push: %+v", o)
	}
}

func TestSkippedAndYieldedDrillsKeepTheLastVerdict(t *testing.T) {
	g := newRig(t)
	g.r.Run(context.Background(), Scheduled)
	before := g.store.Snapshot().LastDrill
	g.s.active = true
	if o := g.r.Run(context.Background(), Scheduled); o.Step != "start" {
		t.Fatalf("skipped: %+v", o)
	}
	g.s.active = false
	g.s.outcome = session.Outcome{Err: session.ErrYielded, Step: "cancelled"}
	g.r.Run(context.Background(), Scheduled)
	st := g.store.Snapshot()
	if st.LastDrill.Time != before.Time || !st.LastDrill.OK {
		t.Errorf("last drill %+v, want the earlier pass kept", st.LastDrill)
	}
	var msgs []string
	for _, e := range st.Events {
		if e.Kind == "drill" {
			msgs = append(msgs, e.Message)
		}
	}
	if len(msgs) != 3 || !strings.Contains(msgs[1], "skipped") || !strings.Contains(msgs[2], "yielded") {
		t.Errorf("drill events %q", msgs)
	}
}

func TestSMSLoop(t *testing.T) {
	own := "+46709876543"
	msg := func(from, text string) modem.Message {
		return modem.Message{Sender: from, SenderTON: modem.TONInternational, Text: text, Complete: true}
	}
	t.Run("the text comes back", func(t *testing.T) {
		g := newRig(t)
		g.r.Loop = &Loop{OwnNumber: own, Now: time.Now, Wait: time.Minute}
		var stranger bool
		g.sms.on = func(to, text string) {
			// A stranger texting from the own number's digits, without the
			// token, is no loop text; the drill's own is.
			stranger = g.r.Loop.Match(msg(own, "oobd drill 0000"))
			if !g.r.Loop.Match(msg(to, text)) {
				t.Errorf("the drill's own text %q from %s was not taken", text, to)
			}
		}
		if o := g.r.Run(context.Background(), Manual); o.Err != nil {
			t.Fatal(o.Err)
		}
		if stranger {
			t.Error("a text without the token was taken as the loop's")
		}
		d := g.store.Snapshot().LastDrill
		if d.Steps[0].Name != StepSMSLoop || d.Steps[0].Err != "" {
			t.Errorf("steps %+v", d.Steps)
		}
		if g.r.Loop.Match(msg(own, g.sms.sent[own][0])) {
			t.Error("the same text was taken twice")
		}
	})
	t.Run("no own number", func(t *testing.T) {
		g := newRig(t)
		g.r.Loop = &Loop{AskSIM: func(context.Context) (string, error) { return "", nil }, Now: time.Now}
		o := g.r.Run(context.Background(), Manual)
		if o.Step != StepSMSLoop || !errors.Is(o.Err, ErrNoOwnNumber) || g.s.probed != nil {
			t.Fatalf("outcome %+v (probes run: %v): want the loop to fail before any dial", o, g.s.probed)
		}
		if d := g.store.Snapshot().LastDrill; d.OK || !strings.Contains(d.Reason, "set modem.own_number") {
			t.Errorf("recorded %+v", d)
		}
	})
	t.Run("the text does not come back", func(t *testing.T) {
		g := newRig(t)
		g.r.Loop = &Loop{OwnNumber: own, Now: time.Now, Wait: 10 * time.Millisecond}
		if o := g.r.Run(context.Background(), Manual); o.Step != StepSMSLoop || !strings.Contains(o.Err.Error(), "did not come back") {
			t.Fatalf("outcome %+v", o)
		}
	})
}

func TestOwnNumber(t *testing.T) {
	cnumErr := errors.New("+CME ERROR: 4")
	ask := func(n string, err error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return n, err }
	}
	tests := []struct {
		name    string
		loop    *Loop
		want    string
		wantErr string // prefix; "" for none
		noOwn   bool   // the error is ErrNoOwnNumber
	}{
		{name: "modem.own_number wins", loop: &Loop{OwnNumber: "+46709876543", AskSIM: ask("", cnumErr)}, want: "+46709876543"},
		{name: "the SIM's, international", loop: &Loop{AskSIM: ask("+46709876543", nil)}, want: "+46709876543"},
		{name: "the SIM's, national", loop: &Loop{AskSIM: ask("0709876543", nil), CountryCode: "46"}, want: "+46709876543"},
		{name: "AT+CNUM answers an error", loop: &Loop{AskSIM: ask("", cnumErr)},
			wantErr: "own number unknown: set modem.own_number (AT+CNUM: +CME ERROR: 4)", noOwn: true},
		{name: "the SIM does not know it", loop: &Loop{AskSIM: ask("", nil)},
			wantErr: "own number unknown: set modem.own_number (the SIM does not know it)", noOwn: true},
		{name: "nobody to ask", loop: &Loop{}, wantErr: "own number unknown: set modem.own_number", noOwn: true},
		{name: "the SIM's is garbage", loop: &Loop{AskSIM: ask("abc", nil)}, wantErr: `the SIM's own number "abc": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.loop.ownNumber(context.Background())
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ownNumber = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || errors.Is(err, ErrNoOwnNumber) != tt.noOwn {
				t.Fatalf("ownNumber = %q, %v; want an error starting %q (ErrNoOwnNumber: %v)", got, err, tt.wantErr, tt.noOwn)
			}
		})
	}
}
