package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oobd/oobd/internal/clock"
	"github.com/oobd/oobd/tunnel"
)

// The lifecycle is tested here with stand-ins for its parts, on a fake
// clock; the real parts are tested together in the agent's end-to-end
// tests.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is when every test's fake clock starts.
var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// journal is an ordered log that a test reads as it grows.
type journal[T any] struct {
	mu    sync.Mutex // guards the fields below
	items []T
	read  int           // how far take has read
	added chan struct{} // closed (and dropped) by add; nil while nobody waits
}

func (j *journal[T]) add(v T) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.items = append(j.items, v)
	if j.added != nil {
		close(j.added)
		j.added = nil
	}
}

func (j *journal[T]) all() []T {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.items)
}

// skip makes take start after what is logged now.
func (j *journal[T]) skip() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.read = len(j.items)
}

// take waits for the next item after the last one taken that matches,
// until ctx ends.
func (j *journal[T]) take(ctx context.Context, match func(T) bool) (T, error) {
	for {
		j.mu.Lock()
		for j.read < len(j.items) {
			v := j.items[j.read]
			j.read++
			if match(v) {
				j.mu.Unlock()
				return v, nil
			}
		}
		if j.added == nil {
			j.added = make(chan struct{})
		}
		added := j.added
		j.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

// events is what the parts were asked to do, in order.
type events struct{ journal[string] }

func (e *events) add(format string, args ...any) { e.journal.add(fmt.Sprintf(format, args...)) }

// linkIP is a fake link's address, unless the test gives it another.
var linkIP = netip.MustParseAddr("10.64.0.2")

type fakePath struct {
	ev   *events
	n    int
	ip   netip.Addr
	done chan struct{}
	err  error // set before done is closed
	rx   atomic.Uint64
	tx   atomic.Uint64
}

func (p *fakePath) Interface() string   { return "ppp0" }
func (p *fakePath) LocalIP() netip.Addr { return p.ip }

// DialContext dials nothing; its error names the link, so that a tunnel
// given it can tell which link it was.
func (p *fakePath) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, fmt.Errorf("link %d", p.n)
}

// Rebind makes the fake path a Rebinder, as the agent's is on Linux.
func (p *fakePath) Rebind(c net.Conn) error {
	p.ev.add("rebound to link %d", p.n)
	return nil
}
func (p *fakePath) Done() <-chan struct{}  { return p.done }
func (p *fakePath) Err() error             { return p.err }
func (p *fakePath) Bytes() (rx, tx uint64) { return p.rx.Load(), p.tx.Load() }
func (p *fakePath) Down(ctx context.Context) error {
	p.ev.add("link down %d", p.n)
	return nil
}

// drop makes the link drop by itself with err.
func (p *fakePath) drop(err error) {
	p.err = err
	close(p.done)
}

type fakeLink struct {
	ev *events

	mu sync.Mutex // guards the fields below
	// fail makes that many of the next dials fail (after the gate).
	fail int
	// gate, when set, holds every dial until it is closed or the dial's
	// context ends.
	gate chan struct{}
	// ips are the addresses of the links in turn (the last repeats);
	// none: linkIP.
	ips   []netip.Addr
	ups   int
	ctxs  []context.Context // each dial's
	paths []*fakePath
}

func (l *fakeLink) Up(ctx context.Context) (Path, error) {
	l.mu.Lock()
	l.ups++
	n, gate := l.ups, l.gate
	l.ctxs = append(l.ctxs, ctx)
	l.mu.Unlock()
	if gate != nil {
		l.ev.add("link dialing %d", n)
		select {
		case <-gate:
		case <-ctx.Done():
			l.ev.add("link dial ended %d: %v", n, context.Cause(ctx))
			return nil, ctx.Err()
		}
	}
	l.mu.Lock()
	fail := l.fail > 0
	if fail {
		l.fail--
	}
	l.mu.Unlock()
	if fail {
		l.ev.add("link failed %d", n)
		return nil, errors.New("PPP x3: no IP")
	}
	p := &fakePath{ev: l.ev, n: n, ip: linkIP, done: make(chan struct{})}
	l.mu.Lock()
	if len(l.ips) > 0 {
		p.ip = l.ips[min(n, len(l.ips))-1]
	}
	l.paths = append(l.paths, p)
	l.mu.Unlock()
	l.ev.add("link up %d", n)
	return p, nil
}

func (l *fakeLink) set(f func(l *fakeLink)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// dialCtx is the context the n-th dial was given.
func (l *fakeLink) dialCtx(n int) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctxs[n-1]
}

func (l *fakeLink) path(i int) *fakePath {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.paths[i]
}

// fakeForward is the fake tunnel's one forward.
var fakeForward = tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}

type fakeTunnel struct {
	ev        *events
	checkFail bool

	mu sync.Mutex // guards the fields below
	// ports are the ports the jump host binds, in turn: the first at the
	// open, the next at each Resume (the last repeats); none: 40022.
	ports      []int
	resumes    int
	resumeCtxs []context.Context
	// reconnects is how often the tunnel connected again by itself.
	reconnects int
	// resume, when set, is what Resume returns, after it is logged; it
	// may wait on ctx.
	resume func(ctx context.Context) error
}

func (t *fakeTunnel) set(f func(t *fakeTunnel)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t)
}

func (t *fakeTunnel) Forwards() []tunnel.BoundForward {
	t.mu.Lock()
	defer t.mu.Unlock()
	port := 40022
	if len(t.ports) > 0 {
		port = t.ports[min(t.resumes, len(t.ports)-1)]
	}
	return []tunnel.BoundForward{{Forward: fakeForward, BoundPort: port}}
}
func (t *fakeTunnel) SelfCheck(ctx context.Context) ([]tunnel.CheckResult, error) {
	if t.checkFail {
		t.ev.add("self-check failed")
		return nil, errors.New("no SSH banner through the forward")
	}
	f := t.Forwards()[0]
	t.ev.add("self-check passed")
	return []tunnel.CheckResult{{Forward: f, Banner: "SSH-2.0-OpenSSH_9.2"}}, nil
}
func (t *fakeTunnel) Reconnects() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reconnects
}
func (t *fakeTunnel) Suspend() error {
	t.ev.add("tunnel suspended")
	return nil
}

// Resume logs the link it was given (by its dial function's error) and
// its address, and rebinds through the path when it can.
func (t *fakeTunnel) Resume(ctx context.Context, p tunnel.Path) error {
	// The context is kept before the event that tells the test to look.
	t.mu.Lock()
	t.resumeCtxs = append(t.resumeCtxs, ctx)
	resume := t.resume
	t.mu.Unlock()
	_, via := p.Dial(ctx, "tcp", "jump.example.net:22")
	t.ev.add("tunnel resumed on %v at %v", via, p.LocalIP)
	if p.Rebind != nil {
		p.Rebind(nil)
	}
	var err error
	if resume != nil {
		err = resume(ctx)
	}
	if err != nil {
		t.ev.add("tunnel not resumed: %v", err)
		return err
	}
	t.mu.Lock()
	t.resumes++
	t.mu.Unlock()
	return nil
}

// resumeCtx is the context the n-th Resume was given.
func (t *fakeTunnel) resumeCtx(n int) context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resumeCtxs[n-1]
}

func (t *fakeTunnel) Close() error {
	t.ev.add("tunnel closed")
	return nil
}

// fakeNotices logs each notice; a notice named in block waits until its
// context ends, as one stuck on a dead network would.
type fakeNotices struct {
	ev    *events
	block map[string]bool // "up", "failed", "down"

	mu    sync.Mutex // guards the fields below
	ups   []Report
	downs []Report
	fails []Report
}

func (n *fakeNotices) wait(ctx context.Context, kind string) {
	if n.block[kind] {
		<-ctx.Done()
		n.ev.add("notice %s gave up: %v", kind, context.Cause(ctx))
	}
}

func (n *fakeNotices) Up(ctx context.Context, r Report, via DialFunc) {
	n.mu.Lock()
	n.ups = append(n.ups, r)
	n.mu.Unlock()
	n.ev.add("notice up until=%v via=%v", !r.Until.IsZero(), via != nil)
	n.wait(ctx, "up")
}
func (n *fakeNotices) Failed(ctx context.Context, r Report) {
	n.mu.Lock()
	n.fails = append(n.fails, r)
	n.mu.Unlock()
	n.ev.add("notice failed: %s", r.Reason)
	n.wait(ctx, "failed")
}
func (n *fakeNotices) Down(ctx context.Context, r Report) {
	n.mu.Lock()
	n.downs = append(n.downs, r)
	n.mu.Unlock()
	n.ev.add("notice down: %s", r.Reason)
	n.wait(ctx, "down")
}

// last is the one notice sent at the end (Down or Failed), or fails the
// test if there is not exactly one.
func (n *fakeNotices) last(t *testing.T) Report {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	all := append(slices.Clone(n.downs), n.fails...)
	if len(all) != 1 {
		t.Fatalf("end notices: downs %+v, fails %+v; want one", n.downs, n.fails)
	}
	return all[0]
}

type fakePort struct {
	ev         *events
	releaseErr error
	// gate, when set, holds the release until it is closed.
	gate chan struct{}
}

func (p *fakePort) Release(ctx context.Context) error {
	if p.gate != nil {
		p.ev.add("modem releasing")
		<-p.gate
	}
	if p.releaseErr != nil {
		p.ev.add("modem not released")
		return p.releaseErr
	}
	p.ev.add("modem released")
	return nil
}
func (p *fakePort) Reacquire(ctx context.Context, supersedes bool) error {
	if supersedes {
		p.ev.add("modem reacquired")
	} else {
		p.ev.add("modem reacquired, texts kept")
	}
	return nil
}

type fakeRecorder struct{ journal[Report] }

func (r *fakeRecorder) Session(rep Report) { r.add(rep) }

// states are the states recorded, each change once.
func (r *fakeRecorder) states() []State {
	var out []State
	for _, rep := range r.all() {
		if len(out) == 0 || out[len(out)-1] != rep.State {
			out = append(out, rep.State)
		}
	}
	return out
}

// keyChanged is an error that says itself in a few words, as the
// tunnel's do: the notice must carry the few words.
type keyChanged struct{}

func (keyChanged) Error() string {
	return "tunnel: host key: REMOTE HOST IDENTIFICATION HAS CHANGED for jump: long story"
}
func (keyChanged) Summary() string { return "HOST KEY CHANGED" }

// rig is a Controller with stand-in parts on a fake clock, running.
type rig struct {
	t       *testing.T
	ctx     context.Context // the safety net: reaching it fails the test
	clk     *clock.Fake
	ev      *events
	link    *fakeLink
	tun     *fakeTunnel
	notices *fakeNotices
	rec     *fakeRecorder
	port    *fakePort // nil: a two-port modem
	openErr error
	c       *Controller
	stop    context.CancelFunc // ends Run
	runDone chan struct{}
}

// baseConfig is the configuration the tests start from.
var baseConfig = Config{Duration: 30 * time.Minute, MaxDuration: 45 * time.Minute, BudgetCheck: time.Minute}

// singlePort gives the rig a single-port modem to hand over.
func singlePort(r *rig) { r.port = &fakePort{ev: r.ev} }

// newRig starts a Controller with cfg; setups change the rig's parts
// before it is made.
func newRig(t *testing.T, cfg Config, setups ...func(*rig)) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ev := &events{}
	r := &rig{
		t: t, ctx: ctx, clk: clock.NewFake(epoch), ev: ev,
		link: &fakeLink{ev: ev}, tun: &fakeTunnel{ev: ev, reconnects: 2}, notices: &fakeNotices{ev: ev},
		rec: &fakeRecorder{}, runDone: make(chan struct{}),
	}
	for _, s := range setups {
		s(r)
	}
	open := func(ctx context.Context, dial DialFunc) (Tunnel, error) {
		if r.openErr != nil {
			return nil, r.openErr
		}
		ev.add("tunnel open")
		return r.tun, nil
	}
	opts := []Option{WithClock(r.clk), WithRecorder(r.rec), WithLogger(slog.New(slog.DiscardHandler))}
	if r.port != nil {
		opts = append(opts, WithPort(r.port))
	}
	r.c = New(cfg, r.link, open, r.notices, opts...)
	runCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() { r.c.Run(runCtx); close(r.runDone) }()
	<-r.c.Started() // Run must have taken the context before requests come
	t.Cleanup(func() {
		stop()
		// Not r.ctx: a test that failed on it has used it up.
		select {
		case <-r.runDone:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

// outcome waits for the one Outcome on ch.
func (r *rig) outcome(ch <-chan Outcome) Outcome {
	r.t.Helper()
	select {
	case o := <-ch:
		return o
	case <-r.ctx.Done():
		r.t.Fatalf("no outcome; events %q", r.ev.all())
		return Outcome{}
	}
}

// up asks for a session and waits until it is up and held.
func (r *rig) up(d time.Duration) Outcome {
	r.t.Helper()
	o := r.outcome(r.c.Up("+46701234567", false, d))
	if o.Err != nil {
		r.t.Fatalf("up failed: %+v", o)
	}
	r.holding()
	return o
}

// holding waits until the session holds: its end timer and its budget
// ticker are armed. Only the hold arms two at once.
func (r *rig) holding() {
	r.t.Helper()
	if err := r.clk.BlockUntil(r.ctx, 2); err != nil {
		r.t.Fatalf("session not held: %v; events %q", err, r.ev.all())
	}
}

// waitEvent waits for the next event with the prefix.
func (r *rig) waitEvent(prefix string) string {
	r.t.Helper()
	s, err := r.ev.take(r.ctx, func(s string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix })
	if err != nil {
		r.t.Fatalf("no %q event; have %q", prefix, r.ev.all())
	}
	return s
}

// waitRecord waits for the next record that matches.
func (r *rig) waitRecord(match func(Report) bool) Report {
	r.t.Helper()
	rep, err := r.rec.take(r.ctx, match)
	if err != nil {
		r.t.Fatalf("no such record; have states %v", r.rec.states())
	}
	return rep
}

func isUp(rep Report) bool { return rep.State == StateUp }

// wait waits until no session is running, and checks that the session
// left no timer of its own armed.
func (r *rig) wait() Report {
	r.t.Helper()
	if err := r.c.Wait(r.ctx); err != nil {
		r.t.Fatalf("session did not end: %v (events %q)", err, r.ev.all())
	}
	if n := r.clk.Pending(); n != 0 {
		r.t.Errorf("%d timers still armed after the session", n)
	}
	rep, active := r.c.Status()
	if active || rep.State != StateIdle {
		r.t.Fatalf("after the session: active %v, %+v", active, rep)
	}
	return rep
}

// endsAt checks that the held session ends exactly at end: not a
// nanosecond before, with "time is up". It needs a budget period or more
// left before end.
func (r *rig) endsAt(end time.Time) Report {
	r.t.Helper()
	r.clk.Advance(end.Sub(r.clk.Now()) - time.Nanosecond)
	// A hold that ended would have disarmed its timer and ticker; one
	// still holding has both armed (again, if its timer found that the
	// end had moved).
	r.holding()
	if rep, active := r.c.Status(); !active || rep.State != StateUp || !rep.Until.Equal(end) {
		r.t.Fatalf("ended before its time, or at another: %+v, want until %v", rep, end)
	}
	r.clk.Advance(time.Nanosecond)
	rep := r.wait()
	if !rep.Ended.Equal(end) || rep.Reason != "time is up" || rep.Step != "" {
		r.t.Fatalf("ended at %v (%q at %q), want at %v with time is up", rep.Ended, rep.Reason, rep.Step, end)
	}
	return rep
}
