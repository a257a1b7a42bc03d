// Package session runs the out-of-band session's lifecycle: dial the
// cellular link (with its path proven), open the reverse tunnel, check it
// end to end, announce it, hold it until its time runs out or it is ended,
// and tear everything down in reverse order on every exit path.
//
// The package knows the lifecycle, not the parts: the link, the tunnel, the
// notices and the modem hand-over are small interfaces declared here and
// implemented by the agent from the real packages (or by stand-ins: the
// demo's Loopback link, and the tests' fakes).
//
// A Controller takes the requests; each session it starts is a ladder
// (ladder.go) run by one goroutine, which owns what is up. Its waits and
// bounds are on the Controller's clock (WithClock), so the tests hold
// sessions on a fake clock without sleeping.
package session

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/oobd/oobd/internal/clock"
	"github.com/oobd/oobd/tunnel"
)

// DialFunc dials through the session's link.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Path is a raised cellular link whose route to the jump host is proven.
type Path interface {
	Interface() string
	LocalIP() netip.Addr
	// DialContext dials through the link only.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	// Done is closed when the link drops by itself; Err then says why.
	Done() <-chan struct{}
	Err() error
	// Bytes is what the link received and sent since it came up.
	Bytes() (rx, tx uint64)
	// Down takes the link down: host route, dialer, interface.
	Down(ctx context.Context) error
}

// Link raises the cellular link, trying as often as it is configured to.
type Link interface {
	Up(ctx context.Context) (Path, error)
}

// Tunnel is an established reverse tunnel. It reconnects by itself while
// it is open. A session opens one and keeps it across redials: when the
// link drops, Suspend; once the link is up again, Resume on it (the
// tunnel decides whether its connection can carry on, see tunnel.Resume).
type Tunnel interface {
	Forwards() []tunnel.BoundForward
	// SelfCheck proves every forward end to end through the jump host.
	SelfCheck(ctx context.Context) ([]tunnel.CheckResult, error)
	Reconnects() int
	// Suspend: the link under the tunnel is gone and being redialed.
	Suspend() error
	// Resume moves the tunnel onto the redialed link, within ctx.
	Resume(ctx context.Context, p tunnel.Path) error
	Close() error
}

// Rebinder is a Path that can make a connection dialed through an earlier
// path leave through it: the tunnel's connection, kept across a redial
// when the new link has the old address (tunnel.Path.Rebind). A path
// whose sockets are bound to its interface on Linux (SO_BINDTODEVICE,
// which holds the interface's index: a new ppp0 has another) must be one
// for that connection to carry on; one whose sockets are bound to its
// address (FreeBSD) need not be.
type Rebinder interface {
	Rebind(c net.Conn) error
}

// TunnelOpener connects to the jump host through dial and establishes
// every forward.
type TunnelOpener func(ctx context.Context, dial DialFunc) (Tunnel, error)

// Report describes a session for the notices and the state file.
type Report struct {
	RequestedBy string    // E.164 number, or "" for the local operator
	Local       bool      // asked through `oobd up`
	Drill       bool      // a scheduled or manual end-to-end test
	State       State     // at the time of the report
	Started     time.Time // when the self-check passed
	Until       time.Time
	Ended       time.Time
	Interface   string
	LocalIP     string
	Forwards    []tunnel.BoundForward
	// Bytes is what went through the link over the whole session (the
	// earlier links of redials included), both ways; BytesRx and BytesTx
	// are its two directions.
	Bytes      uint64
	BytesRx    uint64
	BytesTx    uint64
	Reconnects int
	Redials    int
	// Step and Reason say where and why a session failed or ended.
	Step   string
	Reason string
	// Steps are the steps of the way up (link, tunnel, self-check, and a
	// drill's probes) with how long each took, in order.
	Steps []StepTime
}

// StepTime is how one step of the way up went.
type StepTime struct {
	Name string        `json:"name"`
	Took time.Duration `json:"took_ns"`
	Err  string        `json:"error,omitempty"` // "" when it passed
}

// Probe is a drill's check through the link once the self-check passed
// (the quiet push). Its error fails the drill at that step.
type Probe struct {
	Name  string
	Check func(ctx context.Context, via DialFunc) error
}

// ReasonTimeUp is the Reason of a session whose time ran out.
const ReasonTimeUp = "time is up"

// Outcome is how the session ended, in stable words for the metrics:
// yielded (a drill a request interrupted), failed (never up), completed
// (a drill that came up), expired (its time ran out), dropped (the link
// dropped and the redial failed) or stopped (a down, a kill, the data
// budget, the agent stopping).
func (r Report) Outcome() string {
	switch {
	case strings.Contains(r.Reason, ErrYielded.Error()):
		return "yielded"
	case r.Started.IsZero():
		return "failed"
	case r.Drill:
		return "completed"
	case r.Reason == ReasonTimeUp:
		return "expired"
	case r.Step == "redial":
		return "dropped"
	}
	return "stopped"
}

// ErrYielded ends a drill that a request for a session interrupted: the
// session starts once the drill is torn down.
var ErrYielded = errors.New("drill yielded to a session")

// Notices tells the world about the session. Each call is bounded by its
// context and its failure is the implementation's to log: a notice never
// blocks the lifecycle.
type Notices interface {
	// Up: the tunnel passed its self-check.
	Up(ctx context.Context, r Report, via DialFunc)
	// Failed: an up could not be brought to the self-check.
	Failed(ctx context.Context, r Report)
	// Down: the session is over and everything is torn down.
	Down(ctx context.Context, r Report)
}

// Port is the modem's AT port on a single-port modem, which the dialer
// needs for itself while the link is up. Nil on a two-port modem.
// Reacquire's supersedes says whether texts that asked for this session
// while it held the port are now stale (false after a drill: an up sent
// during a drill gets its own session).
type Port interface {
	Release(ctx context.Context) error
	Reacquire(ctx context.Context, supersedes bool) error
}

// Recorder keeps the session's state where `oobd status` reads it.
type Recorder interface {
	Session(r Report)
}

// State is where a session stands.
type State string

const (
	StateIdle     State = "idle"
	StateDialing  State = "dialing"
	StateTunnel   State = "tunnel"
	StateUp       State = "up"
	StateTearDown State = "teardown"
)

// Config is the session's part of the agent configuration.
type Config struct {
	Duration    time.Duration // default session length
	MaxDuration time.Duration // cap for up and extend, from the start
	DataBudget  uint64        // bytes; 0: none
	// BudgetCheck is how often the link's byte count is read (default 1s:
	// a link that drops takes its counters with it, so the last reading
	// is what the "link down" notice can report).
	BudgetCheck time.Duration
	// TeardownTimeout bounds each teardown step and each notice.
	TeardownTimeout time.Duration
	// BringUpTimeout bounds the way up after the hand-over (dial, path,
	// self-check; the tunnel's connect has its own timeouts; default
	// DefaultBringUpTimeout). A redial is bounded by the session's end.
	BringUpTimeout time.Duration
}

// DefaultBringUpTimeout is the longest the way up may take: well past
// the example's three dial attempts of 60 s, and shorter than the systemd
// watchdog (WatchdogSec=10min in configs/oobd.service), so that the
// session's loop, busy with the way up as one step, is never stale while
// it works.
const DefaultBringUpTimeout = 8 * time.Minute

func (c *Config) setDefaults() {
	if c.Duration <= 0 {
		c.Duration = 30 * time.Minute
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = 4 * time.Hour
	}
	if c.Duration > c.MaxDuration {
		c.Duration = c.MaxDuration
	}
	if c.BudgetCheck <= 0 {
		c.BudgetCheck = time.Second
	}
	if c.TeardownTimeout <= 0 {
		c.TeardownTimeout = 30 * time.Second
	}
	if c.BringUpTimeout <= 0 {
		c.BringUpTimeout = DefaultBringUpTimeout
	}
}

// Option configures a Controller.
type Option func(*Controller)

// WithPort hands the modem's AT port to the dialer for the session.
func WithPort(p Port) Option { return func(c *Controller) { c.port = p } }

// WithRecorder records every change of the session.
func WithRecorder(r Recorder) Option { return func(c *Controller) { c.rec = r } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Controller) { c.log = l } }

// WithClock sets the clock the sessions are held on and their steps
// bounded by (default clock.Real), for tests.
func WithClock(clk clock.Clock) Option { return func(c *Controller) { c.clock = clk } }

// parts are what every session is made of; New fixes them, and the
// sessions only read them.
type parts struct {
	cfg     Config
	link    Link
	open    TunnelOpener
	notices Notices
	port    Port     // nil on a two-port modem
	rec     Recorder // nil: nothing is recorded
	clock   clock.Clock
	log     *slog.Logger
}

func (p *parts) record(r Report) {
	if p.rec != nil {
		p.rec.Session(r)
	}
}

// Controller owns at most one session at a time and takes the requests
// that start, extend and end it.
type Controller struct {
	parts

	wg      sync.WaitGroup // the running session's goroutine
	started chan struct{}  // closed once Run has taken its context

	mu sync.Mutex // guards the fields below
	// base is the context sessions run under; nil until Run.
	base context.Context
	cur  *running // nil when no session runs
	last Report   // the most recent session, once it ended
	// next starts the session that a drill yielded to, once it is over.
	next func()
}

// New makes a Controller. Run must be called before requests are taken.
func New(cfg Config, link Link, open TunnelOpener, notices Notices, opts ...Option) *Controller {
	cfg.setDefaults()
	c := &Controller{
		parts:   parts{cfg: cfg, link: link, open: open, notices: notices, clock: clock.Real{}, log: slog.Default()},
		started: make(chan struct{}),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Dialing is closed once the running session's way up has reached the
// dialer (or the session has ended before it did); closed at once when
// none runs. The inbox sends the replies it owes others after it, so
// that an up never waits for them.
func (c *Controller) Dialing() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.cur.dialing
}

// Started is closed once Run has begun taking requests; a request before
// that is refused.
func (c *Controller) Started() <-chan struct{} { return c.started }

// Run lets the controller take requests until ctx ends, then ends any
// session (tearing it down) and returns once nothing is left up.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.base != nil {
		c.mu.Unlock()
		return errors.New("session: controller already running")
	}
	c.base = ctx
	c.mu.Unlock()
	close(c.started)
	<-ctx.Done()
	c.mu.Lock()
	if c.cur != nil {
		c.cur.stop(errStopping)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

var errStopping = errors.New("agent stopping")

// Outcome is how an up ended: with the tunnel proven, or with why not.
type Outcome struct {
	Err      error
	Step     string
	Until    time.Time
	Forwards []tunnel.BoundForward
	// Already is true when a session was running and the up moved its end.
	Already bool
}

// Reason is the failure for people, after "failed at STEP": the error's
// text without a leading step name, which a package's own error prefix
// ("tunnel: ", "link: ") would otherwise say twice. "" when it succeeded.
func (o Outcome) Reason() string {
	if o.Err == nil {
		return ""
	}
	msg := o.Err.Error()
	if o.Step != "" {
		msg = strings.TrimPrefix(msg, o.Step+": ")
	}
	return msg
}

// ErrNoSession is returned by extend and down when nothing is running.
var ErrNoSession = errors.New("no session is running")

// Up starts a session for requester (or moves the end of the running one).
// The returned channel receives exactly one Outcome: when the tunnel's
// self-check passed, or when the try failed.
func (c *Controller) Up(requester string, local bool, d time.Duration) <-chan Outcome {
	return c.start(requester, local, false, d)
}

// Drill runs one end-to-end test: a session that ends as soon as its
// self-check and probes have passed. A request for a session during it
// ends it (ErrYielded) and starts once it is torn down.
func (c *Controller) Drill(probes ...Probe) <-chan Outcome {
	return c.start("", true, true, 0, probes...)
}

func (c *Controller) start(requester string, local, drill bool, d time.Duration, probes ...Probe) <-chan Outcome {
	out := make(chan Outcome, 1)
	if d <= 0 {
		d = c.cfg.Duration
	}
	d = min(d, c.cfg.MaxDuration)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == nil || c.base.Err() != nil {
		out <- Outcome{Err: errors.New("session: agent is not running"), Step: "start"}
		return out
	}
	if r := c.cur; r != nil {
		if drill {
			out <- Outcome{Err: errors.New("a session is running; drill skipped"), Step: "start"}
			return out
		}
		if r.report().Drill {
			// The request comes first: the drill ends, and this starts
			// with its own notices once the drill is torn down.
			r.stop(ErrYielded)
			prev := c.next
			c.next = func() {
				if prev != nil {
					prev()
				}
				o := <-c.start(requester, local, false, d)
				out <- o
			}
			return out
		}
		now := c.clock.Now()
		r.extendTo(now.Add(d), now, c.cfg.MaxDuration)
		if rep := r.report(); rep.State == StateUp {
			out <- Outcome{Already: true, Until: rep.Until, Forwards: rep.Forwards}
		} else {
			r.addWaiter(out)
		}
		return out
	}
	// Sessions are ended by Run (with errStopping), not by the base
	// context's plain cancellation, so their teardown says why.
	r := newRunning(context.WithoutCancel(c.base), Report{RequestedBy: requester, Local: local, Drill: drill, State: StateDialing}, d)
	r.probes = probes
	r.addWaiter(out)
	c.cur = r
	l := newLadder(&c.parts, r)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		l.run()
		c.mu.Lock()
		c.last = r.report()
		c.cur = nil
		next := c.next
		c.next = nil
		c.mu.Unlock()
		r.dialed() // for whoever waits, if it never got there
		close(r.done)
		if next != nil {
			c.wg.Add(1)
			go func() { defer c.wg.Done(); next() }()
		}
	}()
	return out
}

// Extend adds d to the running session's end, capped at MaxDuration after
// its start, and returns the new end (zero while the session is still
// being set up: its duration then grows, counted from the self-check).
func (c *Controller) Extend(d time.Duration) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return time.Time{}, ErrNoSession
	}
	return c.cur.extendBy(d, c.cfg.MaxDuration), nil
}

// Down ends the running session with reason (e.g. "down by +4670…").
func (c *Controller) Down(reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ErrNoSession
	}
	c.cur.stop(errors.New(reason))
	return nil
}

// Status is the running session, or the last one with State idle.
func (c *Controller) Status() (Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		return c.cur.report(), true
	}
	last := c.last
	last.State = StateIdle
	return last, false
}

// Wait blocks until no session is running or ctx ends.
func (c *Controller) Wait(ctx context.Context) error {
	for {
		c.mu.Lock()
		r := c.cur
		c.mu.Unlock()
		if r == nil {
			return nil
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
