// Package tunnel keeps a reverse SSH tunnel to a jump host: one remote
// forward per configured entry, strict host keys, keepalives, reconnection
// with backoff, and a self-check that proves the whole path. It knows
// nothing of modems or PPP: it is handed a dial function (e.g. a net.Dialer
// bound to the PPP link) and a Config.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// DialFunc opens the TCP connection to the jump host. net.Dialer's
// DialContext fits.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("tunnel: closed")

// State is where the tunnel is.
type State int

// States.
const (
	// StateDown: not connected (before Start, or between reconnects).
	StateDown State = iota
	// StateUp: connected, every forward bound.
	StateUp
	// StateFailed: gave up for good (a host key problem); see Status.LastError.
	StateFailed
	// StateClosed: Close was called or the Start context ended.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateDown:
		return "down"
	case StateUp:
		return "up"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// BoundForward is a forward as the jump host granted it. Its JSON form
// ({"remote", "local", "bound_port"}) is what state.json, `oobd status
// --json` and the control socket show.
type BoundForward struct {
	Forward
	// BoundPort is the port the jump host listens on: the configured one,
	// or the one it chose for port 0 (0 while not known).
	BoundPort int `json:"bound_port"`
}

// RemoteAddr is "host:port" of the jump host's end, with the bound port.
func (b BoundForward) RemoteAddr() string {
	host, _, _ := net.SplitHostPort(b.Remote)
	return net.JoinHostPort(host, strconv.Itoa(b.BoundPort))
}

// Event tells the caller the tunnel changed state.
type Event struct {
	State      State
	Forwards   []BoundForward // bound forwards when State is StateUp
	Err        error          // why it is down or failed
	Reconnects int
}

// Status is a snapshot of the tunnel.
type Status struct {
	State      State
	Since      time.Time // when State was entered
	Reconnects int       // connections made again after a loss
	LastError  error     // the latest failure, nil if none yet
	Forwards   []BoundForward
	// WireSent and WireReceived count the SSH connections' bytes on the
	// link, protocol overhead and keepalives included, over all connections.
	WireSent, WireReceived int64
	// ForwardedIn counts payload carried from the jump host to the local
	// targets, ForwardedOut the other way.
	ForwardedIn, ForwardedOut int64
}

// Option adjusts a Tunnel.
type Option func(*options)

type options struct {
	backoffMin, backoffMax time.Duration
	forwardRetry           time.Duration
	onEvent                func(Event)
	selfCheckHold          time.Duration
	localDial              DialFunc
}

// WithBackoff sets the reconnect delay: it starts at min and doubles up to
// max, with jitter. Defaults 1s and 30s.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = min, max }
}

// WithForwardRetry sets how long a refused forward is asked for again
// before the connection attempt fails (default 60s: a jump host with
// ClientAliveInterval 15 and ClientAliveCountMax 2 frees a dead session's
// port within 45s).
func WithForwardRetry(d time.Duration) Option {
	return func(o *options) { o.forwardRetry = d }
}

// WithEvents calls fn on every state change, from the tunnel's own
// goroutine; fn must not block for long.
func WithEvents(fn func(Event)) Option {
	return func(o *options) { o.onEvent = fn }
}

// WithSelfCheckHold sets how long the self-check waits for a local service
// that does not speak first (default 2s).
func WithSelfCheckHold(d time.Duration) Option {
	return func(o *options) { o.selfCheckHold = d }
}

// WithLocalDialer sets how forwarded connections reach the local targets
// (default: a plain net.Dialer).
func WithLocalDialer(dial DialFunc) Option {
	return func(o *options) { o.localDial = dial }
}

const (
	phaseIdle     = iota // not started, or Start failed
	phaseStarting        // Start is making the first connection
	phaseRunning         // supervise owns the connection
)

// Tunnel is a reverse SSH tunnel. Create it with New, bring it up with
// Start, end it with Close.
type Tunnel struct {
	cfg    Config
	dial   DialFunc
	opt    options
	log    *slog.Logger
	signer ssh.Signer
	keys   *hostKeys

	wireSent, wireReceived atomic.Int64
	forwardIn, forwardOut  atomic.Int64
	accepted               []atomic.Int64 // per forward: connections the jump host sent us
	localErrMu             sync.Mutex     // guards localErr
	localErr               []error        // per forward: last failure to reach the local target
	lastPortMu             sync.Mutex     // guards lastPort
	lastPort               []int          // per forward: last bound port, asked for again after port 0

	mu         sync.Mutex // guards the fields below
	phase      int
	closed     bool
	cur        *conn
	state      State
	since      time.Time
	reconnects int
	lastErr    error
	cancel     context.CancelFunc
	done       chan struct{}
}

// New checks the config, reads the identity and known_hosts files, and
// returns a tunnel that is not connected yet.
// Open makes a tunnel and starts it: connected, every forward bound. On
// error nothing is left running.
func Open(ctx context.Context, cfg Config, dial DialFunc, opts ...Option) (*Tunnel, error) {
	t, err := New(cfg, dial, opts...)
	if err != nil {
		return nil, err
	}
	if err := t.Start(ctx); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func New(cfg Config, dial DialFunc, opts ...Option) (*Tunnel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dial == nil {
		return nil, errors.New("tunnel: no dial function")
	}
	cfg = cfg.withDefaults()
	o := options{
		backoffMin:    time.Second,
		backoffMax:    30 * time.Second,
		forwardRetry:  60 * time.Second,
		selfCheckHold: 2 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.localDial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		o.localDial = d.DialContext
	}
	if o.backoffMin <= 0 {
		o.backoffMin = time.Second
	}
	if o.backoffMax < o.backoffMin {
		o.backoffMax = o.backoffMin
	}
	signer, err := loadIdentity(cfg.IdentityFile)
	if err != nil {
		return nil, err
	}
	keys, err := loadHostKeys(cfg.KnownHostsFile, cfg.JumpHost)
	if err != nil {
		return nil, err
	}
	n := len(cfg.Forwards)
	return &Tunnel{
		cfg:      cfg,
		dial:     dial,
		opt:      o,
		log:      cfg.Logger.With("jump_host", cfg.JumpHost),
		signer:   signer,
		keys:     keys,
		accepted: make([]atomic.Int64, n),
		localErr: make([]error, n),
		lastPort: make([]int, n),
		since:    time.Now(),
		done:     make(chan struct{}),
	}, nil
}

// Start connects and binds every forward. It returns the first attempt's
// error, or nil once the tunnel is up; then it keeps the tunnel up in the
// background (keepalives, reconnects with backoff) until ctx ends or Close
// is called. ctx is the tunnel's lifetime, not just the first attempt's.
// After a failed Start, Start may be called again.
func (t *Tunnel) Start(ctx context.Context) error {
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return ErrClosed
	case t.phase != phaseIdle:
		t.mu.Unlock()
		return errors.New("tunnel: already started")
	}
	runCtx, cancel := context.WithCancel(ctx)
	t.phase, t.cancel = phaseStarting, cancel
	t.mu.Unlock()

	c, err := t.establish(runCtx)

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		cancel()
		if c != nil {
			c.close()
		}
		t.setState(StateClosed, nil)
		close(t.done)
		return ErrClosed
	}
	if err != nil {
		t.phase, t.cancel, t.lastErr = phaseIdle, nil, err
		t.mu.Unlock()
		cancel()
		return err
	}
	t.phase = phaseRunning
	t.mu.Unlock()
	t.up(c)
	go t.supervise(runCtx, c)
	return nil
}

// Done is closed when the tunnel stops for good: Close, the Start context
// ending, or a host key failure on reconnect (StateFailed).
func (t *Tunnel) Done() <-chan struct{} { return t.done }

// Close tears the tunnel down and waits for every goroutine it started.
// It is idempotent.
func (t *Tunnel) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closed = true
	phase, cancel := t.phase, t.cancel
	t.mu.Unlock()
	if phase == phaseIdle {
		t.setState(StateClosed, nil)
		close(t.done)
		return nil
	}
	// Start or supervise sees the cancel and closes done.
	cancel()
	<-t.done
	return nil
}

// Status returns a snapshot.
func (t *Tunnel) Status() Status {
	t.mu.Lock()
	s := Status{
		State:      t.state,
		Since:      t.since,
		Reconnects: t.reconnects,
		LastError:  t.lastErr,
	}
	if t.cur != nil && t.state == StateUp {
		s.Forwards = append([]BoundForward(nil), t.cur.bound...)
	}
	t.mu.Unlock()
	s.WireSent = t.wireSent.Load()
	s.WireReceived = t.wireReceived.Load()
	s.ForwardedIn = t.forwardIn.Load()
	s.ForwardedOut = t.forwardOut.Load()
	return s
}

// Forwards are the forwards as the jump host bound them, while connected.
func (t *Tunnel) Forwards() []BoundForward { return t.Status().Forwards }

// Reconnects is how many times the connection was made again after a
// loss.
func (t *Tunnel) Reconnects() int { return t.Status().Reconnects }

func (t *Tunnel) up(c *conn) {
	t.mu.Lock()
	t.cur = c
	t.mu.Unlock()
	t.setState(StateUp, nil)
	var attrs []any
	for _, b := range c.bound {
		attrs = append(attrs, slog.String("forward", fmt.Sprintf("%s(port %d) -> %s", b.Remote, b.BoundPort, b.Local)))
	}
	t.log.Info("tunnel: up", attrs...)
}

// setState records a state change and tells the caller.
func (t *Tunnel) setState(s State, err error) {
	t.mu.Lock()
	t.state, t.since = s, time.Now()
	if err != nil {
		t.lastErr = err
	}
	ev := Event{State: s, Err: err, Reconnects: t.reconnects}
	if s == StateUp && t.cur != nil {
		ev.Forwards = append([]BoundForward(nil), t.cur.bound...)
	}
	fn := t.opt.onEvent
	t.mu.Unlock()
	if fn != nil {
		fn(ev)
	}
}

// supervise watches the connection and makes it again after a loss, for
// as long as ctx lives.
func (t *Tunnel) supervise(ctx context.Context, c *conn) {
	defer close(t.done)
	for {
		err := c.wait(ctx)
		c.close()
		t.mu.Lock()
		t.cur = nil
		t.mu.Unlock()
		if ctx.Err() != nil {
			t.log.Info("tunnel: closed")
			t.setState(StateClosed, nil)
			return
		}
		t.log.Warn("tunnel: connection lost", "err", err)
		t.setState(StateDown, err)

		for attempt := 1; ; attempt++ {
			if !sleepCtx(ctx, t.backoff(attempt)) {
				t.setState(StateClosed, nil)
				return
			}
			c, err = t.establish(ctx)
			if err == nil {
				t.mu.Lock()
				t.reconnects++
				t.mu.Unlock()
				t.up(c)
				break
			}
			if ctx.Err() != nil {
				t.setState(StateClosed, nil)
				return
			}
			if IsHostKeyError(err) {
				t.log.Error("tunnel: giving up", "err", err)
				t.setState(StateFailed, err)
				return
			}
			t.log.Warn("tunnel: reconnect failed", "attempt", attempt, "err", err)
			t.setState(StateDown, err)
		}
	}
}

// backoff is the delay before reconnect attempt n (from 1): doubling from
// backoffMin up to backoffMax, with up to 25% jitter so many agents do
// not come back in step.
func (t *Tunnel) backoff(n int) time.Duration {
	d := t.opt.backoffMin
	for i := 1; i < n && d < t.opt.backoffMax; i++ {
		d *= 2
	}
	d = min(d, t.opt.backoffMax)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (t *Tunnel) current() *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != StateUp {
		return nil
	}
	return t.cur
}

func (t *Tunnel) setLocalErr(i int, err error) {
	t.localErrMu.Lock()
	t.localErr[i] = err
	t.localErrMu.Unlock()
}

func (t *Tunnel) getLocalErr(i int) error {
	t.localErrMu.Lock()
	defer t.localErrMu.Unlock()
	return t.localErr[i]
}
