package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// The lifecycle is tested here with stand-ins for its parts; the real
// parts are tested together in the agent's end-to-end tests.

// events is an ordered log of what the parts were asked to do.
type events struct {
	mu  sync.Mutex
	log []string
	ch  chan string
}

func newEvents() *events { return &events{ch: make(chan string, 100)} }

func (e *events) add(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
	e.ch <- s
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// waitFor waits until an event with the prefix is logged.
func (e *events) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-e.ch:
			if strings.HasPrefix(s, prefix) {
				return s
			}
		case <-timeout:
			t.Fatalf("no %q event; have %q", prefix, e.all())
		}
	}
}

type fakePath struct {
	ev   *events
	n    int
	done chan struct{}
	err  error
	rx   atomic.Uint64
	tx   atomic.Uint64
}

func (p *fakePath) Interface() string   { return "ppp0" }
func (p *fakePath) LocalIP() netip.Addr { return netip.MustParseAddr("10.64.0.2") }
func (p *fakePath) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, errors.New("fake path does not dial")
}
func (p *fakePath) Done() <-chan struct{}  { return p.done }
func (p *fakePath) Err() error             { return p.err }
func (p *fakePath) Bytes() (rx, tx uint64) { return p.rx.Load(), p.tx.Load() }
func (p *fakePath) Down(ctx context.Context) error {
	p.ev.add("link down %d", p.n)
	return nil
}

type fakeLink struct {
	ev *events
	// fail makes the next ups fail; block makes them wait for ctx.
	mu    sync.Mutex
	fail  int
	block bool
	ups   int
	paths []*fakePath
}

func (l *fakeLink) Up(ctx context.Context) (Path, error) {
	l.mu.Lock()
	l.ups++
	n := l.ups
	fail, block := l.fail > 0, l.block
	if fail {
		l.fail--
	}
	l.mu.Unlock()
	if block {
		l.ev.add("link dialing %d", n)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if fail {
		l.ev.add("link failed %d", n)
		return nil, errors.New("PPP x3: no IP")
	}
	p := &fakePath{ev: l.ev, n: n, done: make(chan struct{})}
	l.mu.Lock()
	l.paths = append(l.paths, p)
	l.mu.Unlock()
	l.ev.add("link up %d", n)
	return p, nil
}

func (l *fakeLink) path(i int) *fakePath {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.paths[i]
}

type fakeTunnel struct {
	ev        *events
	checkFail bool
}

func (t *fakeTunnel) Forwards() []tunnel.BoundForward {
	return []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}, BoundPort: 40022}}
}
func (t *fakeTunnel) SelfCheck(ctx context.Context) error {
	if t.checkFail {
		t.ev.add("self-check failed")
		return errors.New("no SSH banner through the forward")
	}
	t.ev.add("self-check passed")
	return nil
}
func (t *fakeTunnel) Reconnects() int { return 0 }
func (t *fakeTunnel) Close() error {
	t.ev.add("tunnel closed")
	return nil
}

type fakeNotices struct {
	ev    *events
	mu    sync.Mutex
	downs []Report
	fails []Report
}

func (n *fakeNotices) Up(ctx context.Context, r Report, via DialFunc) {
	n.ev.add("notice up until=%v", !r.Until.IsZero())
}
func (n *fakeNotices) Failed(ctx context.Context, r Report) {
	n.mu.Lock()
	n.fails = append(n.fails, r)
	n.mu.Unlock()
	n.ev.add("notice failed: %s", r.Reason)
}
func (n *fakeNotices) Down(ctx context.Context, r Report) {
	n.mu.Lock()
	n.downs = append(n.downs, r)
	n.mu.Unlock()
	n.ev.add("notice down: %s", r.Reason)
}

type fakePort struct{ ev *events }

func (p *fakePort) Release(ctx context.Context) error   { p.ev.add("modem released"); return nil }
func (p *fakePort) Reacquire(ctx context.Context) error { p.ev.add("modem reacquired"); return nil }

// keyChanged is an error that says itself in a few words, as the
// tunnel's do: the notice must carry the few words.
type keyChanged struct{}

func (keyChanged) Error() string {
	return "tunnel: host key: REMOTE HOST IDENTIFICATION HAS CHANGED for jump: long story"
}
func (keyChanged) Summary() string { return "HOST KEY CHANGED" }

type rig struct {
	openErr error
	t       *testing.T
	ev      *events
	link    *fakeLink
	tun     *fakeTunnel
	notices *fakeNotices
	c       *Controller
	cancel  context.CancelFunc
	runDone chan struct{}
}

func newRig(t *testing.T, cfg Config, opts ...Option) *rig {
	t.Helper()
	ev := newEvents()
	r := &rig{t: t, ev: ev, link: &fakeLink{ev: ev}, tun: &fakeTunnel{ev: ev}, notices: &fakeNotices{ev: ev}, runDone: make(chan struct{})}
	open := func(ctx context.Context, dial DialFunc) (Tunnel, error) {
		if r.openErr != nil {
			return nil, r.openErr
		}
		ev.add("tunnel open")
		return r.tun, nil
	}
	r.c = New(cfg, r.link, open, r.notices, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.c.Run(ctx); close(r.runDone) }()
	<-r.c.started // Run must have taken the context before requests come
	t.Cleanup(func() { cancel(); <-r.runDone })
	return r
}

func outcome(t *testing.T, ch <-chan Outcome) Outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome")
		return Outcome{}
	}
}

// wait waits until no session is running.
func (r *rig) wait() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.c.Wait(ctx); err != nil {
		r.t.Fatalf("session did not end: %v (events %q)", err, r.ev.all())
	}
}

func TestSessionExpiresAndTearsDownInReverse(t *testing.T) {
	r := newRig(t, Config{Duration: 200 * time.Millisecond})
	r.c.port = &fakePort{ev: r.ev}
	o := outcome(t, r.c.Up("+46701234567", false, 0))
	if o.Err != nil || o.Until.IsZero() || len(o.Forwards) != 1 || o.Forwards[0].BoundPort != 40022 {
		t.Fatalf("outcome = %+v", o)
	}
	r.wait()
	want := []string{
		"modem released", "link up 1", "tunnel open", "self-check passed", "notice up until=true",
		"tunnel closed", "link down 1", "modem reacquired", "notice down: time is up",
	}
	if got := r.ev.all(); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	rep, active := r.c.Status()
	if active || rep.State != StateIdle || rep.RequestedBy != "+46701234567" || rep.Ended.Before(rep.Started) {
		t.Fatalf("status after = %+v active=%v", rep, active)
	}
}

func TestFailureAtEachStepTearsDownWhatWasUp(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*rig)
		wantStep  string
		wantEvent []string
	}{
		{"dial", func(r *rig) { r.link.fail = 1 }, "link",
			[]string{"modem released", "link failed 1", "modem reacquired", "notice failed: PPP x3: no IP"}},
		{"tunnel", func(r *rig) { r.openErr = fmt.Errorf("tunnel: ssh to jump: %w", keyChanged{}) }, "tunnel",
			[]string{"modem released", "link up 1", "link down 1", "modem reacquired", "notice failed: HOST KEY CHANGED"}},
		{"self-check", func(r *rig) { r.tun.checkFail = true }, "self-check",
			[]string{"modem released", "link up 1", "tunnel open", "self-check failed", "tunnel closed", "link down 1", "modem reacquired", "notice failed: no SSH banner through the forward"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{})
			r.c.port = &fakePort{ev: r.ev}
			tt.setup(r)
			o := outcome(t, r.c.Up("+46701234567", false, 0))
			if o.Err == nil || o.Step != tt.wantStep {
				t.Fatalf("outcome = %+v, want failure at %s", o, tt.wantStep)
			}
			r.wait()
			if got := r.ev.all(); !slices.Equal(got, tt.wantEvent) {
				t.Fatalf("events:\n got %q\nwant %q", got, tt.wantEvent)
			}
		})
	}
}

func TestDownDuringDialEndsTheTry(t *testing.T) {
	r := newRig(t, Config{})
	r.link.block = true
	ch := r.c.Up("+46701234567", false, 0)
	r.ev.waitFor(t, "link dialing")
	if err := r.c.Down("kill by +46701234567"); err != nil {
		t.Fatal(err)
	}
	o := outcome(t, ch)
	if o.Err == nil || !strings.Contains(o.Err.Error(), "kill by") {
		t.Fatalf("outcome = %+v", o)
	}
	r.wait()
	if got := r.ev.all(); slices.Contains(got, "tunnel open") {
		t.Fatalf("tunnel opened after a kill: %q", got)
	}
}

func TestDownAndExtendDuringHold(t *testing.T) {
	r := newRig(t, Config{Duration: time.Hour, MaxDuration: 90 * time.Minute})
	o := outcome(t, r.c.Up("+46701234567", false, 0))
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	until, err := r.c.Extend(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := r.c.Status()
	if got := until.Sub(rep.Started); got != 90*time.Minute {
		t.Fatalf("extend past the cap: end is %v after start, want 90m", got)
	}
	// An up during the session answers at once and never shortens it.
	o2 := outcome(t, r.c.Up("+46701234567", false, time.Minute))
	if !o2.Already || !o2.Until.Equal(until) {
		t.Fatalf("second up = %+v, want Already with until %v", o2, until)
	}
	if err := r.c.Down("down by +46701234567"); err != nil {
		t.Fatal(err)
	}
	r.wait()
	if got := r.ev.waitFor(t, "notice down"); got != "notice down: down by +46701234567" {
		t.Fatalf("down notice = %q", got)
	}
	if _, err := r.c.Extend(time.Minute); !errors.Is(err, ErrNoSession) {
		t.Fatalf("extend with no session: %v", err)
	}
}

func TestDataBudgetEndsSession(t *testing.T) {
	r := newRig(t, Config{Duration: time.Hour, DataBudget: 1000, BudgetCheck: 10 * time.Millisecond})
	if o := outcome(t, r.c.Up("+46701234567", false, 0)); o.Err != nil {
		t.Fatal(o.Err)
	}
	r.link.path(0).rx.Store(900)
	r.link.path(0).tx.Store(600)
	r.wait()
	r.notices.mu.Lock()
	defer r.notices.mu.Unlock()
	if len(r.notices.downs) != 1 || r.notices.downs[0].Step != "budget" || r.notices.downs[0].Bytes != 1500 ||
		r.notices.downs[0].BytesRx != 900 || r.notices.downs[0].BytesTx != 600 {
		t.Fatalf("downs = %+v", r.notices.downs)
	}
}

func TestLinkDropIsRedialed(t *testing.T) {
	r := newRig(t, Config{Duration: time.Hour})
	if o := outcome(t, r.c.Up("+46701234567", false, 0)); o.Err != nil {
		t.Fatal(o.Err)
	}
	p := r.link.path(0)
	p.rx.Store(70)
	p.tx.Store(30)
	p.err = errors.New("pppd exited with status 16")
	close(p.done)
	r.ev.waitFor(t, "link up 2")
	r.ev.waitFor(t, "self-check passed")
	// The second link drops too and the redial fails: the session ends.
	r.link.mu.Lock()
	r.link.fail = 1
	r.link.mu.Unlock()
	p2 := r.link.path(1)
	p2.rx.Store(40)
	p2.tx.Store(10)
	p2.err = errors.New("interface ppp0 gone")
	close(p2.done)
	r.wait()
	r.notices.mu.Lock()
	defer r.notices.mu.Unlock()
	d := r.notices.downs
	if len(d) != 1 || d[0].Step != "redial" || d[0].Redials != 2 || d[0].Bytes != 150 || d[0].BytesRx != 110 || d[0].BytesTx != 40 ||
		!strings.Contains(d[0].Reason, "interface ppp0 gone") {
		t.Fatalf("downs = %+v", d)
	}
}

func TestStopTearsDownBeforeRunReturns(t *testing.T) {
	r := newRig(t, Config{Duration: time.Hour})
	if o := outcome(t, r.c.Up("", true, 0)); o.Err != nil {
		t.Fatal(o.Err)
	}
	r.cancel()
	select {
	case <-r.runDone:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	got := r.ev.all()
	if !slices.Contains(got, "link down 1") || got[len(got)-1] != "notice down: agent stopping" {
		t.Fatalf("events after stop: %q", got)
	}
	if o := outcome(t, r.c.Up("", true, 0)); o.Err == nil {
		t.Fatal("up accepted after the agent stopped")
	}
}

func TestDrillEndsAfterSelfCheckWithoutDownNotice(t *testing.T) {
	r := newRig(t, Config{Duration: time.Hour})
	o := outcome(t, r.c.Drill())
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	r.wait()
	got := r.ev.all()
	want := []string{"link up 1", "tunnel open", "self-check passed", "tunnel closed", "link down 1"}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	rep, _ := r.c.Status()
	if !rep.Drill || rep.Reason != "drill passed" {
		t.Fatalf("last = %+v", rep)
	}
}
