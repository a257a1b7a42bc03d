// Package tunnel keeps a reverse SSH tunnel to a jump host: one remote
// forward per configured entry, strict host keys, keepalives, reconnection
// with backoff, a bound on what the jump host may open, a move onto a new
// link after a redial (Suspend, Resume), and a self-check that proves the
// whole path. It knows nothing of modems or PPP: it is handed a dial
// function (e.g. a net.Dialer bound to the PPP link) and a Config.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// DialFunc opens the TCP connection to the jump host. net.Dialer's
// DialContext fits.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ErrClosed is returned by Start, Suspend and Resume after Close.
var ErrClosed = errors.New("tunnel: closed")

// MaxChannelsPerForward is how many forwarded connections
// (forwarded-tcpip channels) one forward carries at once. The jump host
// opens a channel for every connection to its end of a forward, and each
// costs this box goroutines, a connection to the local target and up to
// 2 MB of SSH window: a broken or hostile jump host (or anyone who reaches
// a publicly exposed forward) must not open them without bound. Further
// ones are refused with SSH_OPEN_RESOURCE_SHORTAGE (RFC 4254 section 5.1)
// and counted in Status.Channels. 16 is far more than the owner's ssh
// sessions, copies and console need at once.
const MaxChannelsPerForward = 16

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
	// StateSuspended: the link under the tunnel is gone (Suspend); the
	// tunnel waits for Resume, sending nothing.
	StateSuspended
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
	case StateSuspended:
		return "suspended"
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
	// Channels counts each configured forward's forwarded connections,
	// in the order of Config.Forwards.
	Channels []ChannelStats
	// WireSent and WireReceived count the SSH connections' bytes on the
	// link, protocol overhead and keepalives included, over all connections.
	WireSent, WireReceived int64
	// ForwardedIn counts payload carried from the jump host to the local
	// targets, ForwardedOut the other way.
	ForwardedIn, ForwardedOut int64
}

// ChannelStats counts one forward's forwarded connections (the channels
// the jump host opened for it) over the tunnel's life.
type ChannelStats struct {
	Forward Forward
	// Open is how many are open now (at most MaxChannelsPerForward).
	Open int
	// Accepted counts the ones let through (the self-check's included).
	Accepted int64
	// Refused counts the ones refused because MaxChannelsPerForward were
	// open (SSH_OPEN_RESOURCE_SHORTAGE).
	Refused int64
}

// Path is the link a tunnel moves onto with Resume, after the link it ran
// over dropped and was dialed again.
type Path struct {
	// Dial opens connections through the new link; the tunnel uses it from
	// now on.
	Dial DialFunc
	// LocalIP is the new link's own address. The connection made through
	// the old link is only tried again when it had this same address:
	// whatever the jump host sends to any other never reaches this box.
	LocalIP netip.Addr
	// Rebind, when set, is given the old connection (as the old Dial
	// returned it) before it is tried again, to make it leave through the
	// new link. Linux needs it: SO_BINDTODEVICE holds the interface's
	// index, and a new ppp0 has a new index under the old name, so a socket
	// bound to the old one can send nothing and the kernel answers what
	// the jump host sends to it with a reset. Nil: nothing to do (a socket
	// bound to an address, as on FreeBSD, lives on once the address is
	// back).
	Rebind func(net.Conn) error
}

// Option adjusts a Tunnel.
type Option func(*options)

type options struct {
	backoffMin, backoffMax time.Duration
	forwardRetry           time.Duration
	onEvent                func(Event)
	selfCheckHold          time.Duration
	localDial              DialFunc
	onChannels             func(forward, open int) // tests: a forward's open count changed
}

// WithBackoff sets the reconnect delay: it starts at min and doubles up to
// max, with jitter. Defaults DefaultBackoffMin and DefaultBackoffMax.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = min, max }
}

// WithForwardRetry sets how long Start, and the tunnel's own reconnects,
// ask again for a refused forward before the connection attempt fails
// (default DefaultForwardRetry). Resume asks until its context ends
// instead. For a port 0 forward it is also how long the port it had before
// is asked for before any other is taken.
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

// errInterrupted ends a connection attempt that Suspend or Resume cut
// short: the link it dials through is gone or replaced.
var errInterrupted = errors.New("tunnel: interrupted by Suspend or Resume")

// command is Suspend's or Resume's request to the supervising goroutine,
// which answers on reply.
type command struct {
	resume bool
	ctx    context.Context // bounds a resume
	path   Path
	reply  chan error
}

// Tunnel is a reverse SSH tunnel. Create it with New, bring it up with
// Start, end it with Close.
type Tunnel struct {
	cfg    Config
	opt    options
	log    *slog.Logger
	signer ssh.Signer
	keys   *hostKeys

	wireSent, wireReceived atomic.Int64
	forwardIn, forwardOut  atomic.Int64
	// Per forward: connections the jump host sent us and we let through,
	// those open now, and those refused for the limit; full is set from
	// the first refusal until a slot frees, so a flood logs once.
	accepted   []atomic.Int64
	open       []atomic.Int64
	refused    []atomic.Int64
	full       []atomic.Bool
	localErrMu sync.Mutex // guards localErr
	localErr   []error    // per forward: last failure to reach the local target
	lastPortMu sync.Mutex // guards lastPort
	lastPort   []int      // per forward: last bound port, asked for again after port 0

	cmds  chan command // to the supervising goroutine
	cmdMu sync.Mutex   // one command at a time

	mu         sync.Mutex // guards the fields below
	dial       DialFunc
	phase      int
	closed     bool
	cur        *conn
	state      State
	since      time.Time
	reconnects int
	lastErr    error
	cancel     context.CancelFunc
	done       chan struct{}
	// pending is set while a command waits for the supervising goroutine,
	// which then starts no connection attempt; abort cuts the attempt in
	// progress short (nil when none).
	pending bool
	abort   func()
}

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

// New checks the config, reads the identity and known_hosts files, and
// returns a tunnel that is not connected yet.
func New(cfg Config, dial DialFunc, opts ...Option) (*Tunnel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dial == nil {
		return nil, errors.New("tunnel: no dial function")
	}
	cfg = cfg.withDefaults()
	o := options{
		backoffMin:    DefaultBackoffMin,
		backoffMax:    DefaultBackoffMax,
		forwardRetry:  DefaultForwardRetry,
		selfCheckHold: 2 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.localDial == nil {
		d := &net.Dialer{Timeout: localDialTimeout}
		o.localDial = d.DialContext
	}
	if o.backoffMin <= 0 {
		o.backoffMin = DefaultBackoffMin
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
		open:     make([]atomic.Int64, n),
		refused:  make([]atomic.Int64, n),
		full:     make([]atomic.Bool, n),
		localErr: make([]error, n),
		lastPort: make([]int, n),
		cmds:     make(chan command),
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

	c, err := t.establish(runCtx, t.opt.forwardRetry)

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

// Suspend tells the tunnel that the link under it is gone and is being
// dialed again. The tunnel stops its keepalives and reconnects (through a
// link that is gone they can only fail, and a keepalive stuck in the dead
// link's send queue would only hold up the probe Resume makes) but keeps
// its connection and forwards for Resume: on the jump host they may still
// be alive, holding the forwarded ports. Until Resume the tunnel sends
// nothing; a connection the jump host ends meanwhile is let go.
func (t *Tunnel) Suspend() error {
	return t.command(command{})
}

// Resume moves the tunnel onto a new link and returns once every forward
// is bound again (a self-check is the caller's to make), or with why not.
//
// When the new link has the address the connection had, the connection
// is rebound (p.Rebind) and sent one keepalive with a deadline of
// Config.Keepalive: if it answers, it is kept, with its forwards and the
// forwarded connections it carries (an owner's ssh session survives the
// drop), and no tcpip-forward is asked for again. Otherwise (another
// address, no answer, or the jump host ended it) it is closed and the
// tunnel connects through p.Dial; a forward the jump host refuses, because
// its port is still held by the old connection's session until the jump
// host's ClientAlive probes give up on it, is asked for again with backoff
// until ctx ends. ctx bounds the whole move, not the tunnel's life.
//
// It works whether or not Suspend came first, and whether or not the
// tunnel had already lost the connection by itself. When it fails, the
// tunnel stays suspended: Resume again, or Close.
func (t *Tunnel) Resume(ctx context.Context, p Path) error {
	if p.Dial == nil {
		return errors.New("tunnel: resume: no dial function")
	}
	return t.command(command{resume: true, ctx: ctx, path: p})
}

// command hands cmd to the supervising goroutine and waits for its answer.
func (t *Tunnel) command(cmd command) error {
	t.cmdMu.Lock()
	defer t.cmdMu.Unlock()
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return ErrClosed
	case t.phase != phaseRunning:
		t.mu.Unlock()
		return errors.New("tunnel: not started")
	}
	// No new attempt starts from now on, and the one in progress (through
	// the old link) ends, so the command does not wait behind it.
	t.pending = true
	if t.abort != nil {
		t.abort()
	}
	t.mu.Unlock()
	cmd.reply = make(chan error, 1)
	select {
	case t.cmds <- cmd:
	case <-t.done:
		return t.stoppedErr()
	}
	// The supervising goroutine answers every command it takes.
	return <-cmd.reply
}

// stoppedErr is why the supervising goroutine has stopped.
func (t *Tunnel) stoppedErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == StateFailed && t.lastErr != nil {
		return t.lastErr
	}
	return ErrClosed
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
	for i, f := range t.cfg.Forwards {
		s.Channels = append(s.Channels, ChannelStats{
			Forward:  f,
			Open:     int(t.open[i].Load()),
			Accepted: t.accepted[i].Load(),
			Refused:  t.refused[i].Load(),
		})
	}
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

func (t *Tunnel) dialFunc() DialFunc {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dial
}

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

// drop closes c, which is no longer the tunnel's.
func (t *Tunnel) drop(c *conn) {
	if c == nil {
		return
	}
	c.close()
	t.mu.Lock()
	if t.cur == c {
		t.cur = nil
	}
	t.mu.Unlock()
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

// supervise owns the connection once Start has made it, until ctx ends:
// it holds it (keepalives), makes it again after a loss, and carries out
// Suspend and Resume. No other goroutine replaces or closes it.
func (t *Tunnel) supervise(ctx context.Context, c *conn) {
	defer close(t.done)
	suspended := false
	// attempt counts the reconnects since the last loss of a connection
	// that held (stableFor): the first after it goes at once, the rest
	// back off; a jump host that drops every connection at once is not
	// hammered.
	attempt := 0
	stop := func(s State, err error) {
		t.drop(c)
		if s == StateFailed {
			t.log.Error("tunnel: giving up", "err", err)
		} else {
			t.log.Info("tunnel: closed")
		}
		t.setState(s, err)
	}
	for {
		var cmd command
		switch {
		case c != nil && !suspended:
			var got bool
			var err error
			cmd, got, err = c.hold(ctx, t.cmds)
			if !got {
				held := time.Since(c.made)
				t.drop(c)
				c = nil
				if ctx.Err() != nil {
					stop(StateClosed, nil)
					return
				}
				t.log.Warn("tunnel: connection lost", "err", err, "held", held.Round(time.Second))
				t.setState(StateDown, err)
				if held >= stableFor {
					attempt = 0
				}
				continue
			}
		case suspended:
			var gone <-chan struct{}
			if c != nil {
				gone = c.gone
			}
			select {
			case <-ctx.Done():
				stop(StateClosed, nil)
				return
			case <-gone:
				t.log.Info("tunnel: the jump host ended the connection during the suspension", "err", c.goneErr)
				t.drop(c)
				c = nil
				continue
			case cmd = <-t.cmds:
			}
		default:
			attempt++
			timer := time.NewTimer(t.reconnectDelay(attempt))
			got := false
			select {
			case <-ctx.Done():
				timer.Stop()
				stop(StateClosed, nil)
				return
			case cmd = <-t.cmds:
				got = true
			case <-timer.C:
			}
			timer.Stop()
			if !got {
				nc, err := t.reconnect(ctx)
				switch {
				case err == nil:
					c = nc
				case ctx.Err() != nil:
					stop(StateClosed, nil)
					return
				case errors.Is(err, errInterrupted):
					// A command waits: the next round takes it.
				case IsHostKeyError(err):
					stop(StateFailed, err)
					return
				default:
					t.log.Warn("tunnel: reconnect failed", "attempt", attempt, "err", err)
					t.setState(StateDown, err)
				}
				continue
			}
		}

		t.mu.Lock()
		t.pending = false
		t.mu.Unlock()
		if !cmd.resume {
			if !suspended {
				suspended = true
				t.log.Info("tunnel: suspended while the link is dialed again")
				t.setState(StateSuspended, nil)
			}
			cmd.reply <- nil
			continue
		}
		nc, err := t.resume(ctx, cmd, c)
		c = nc
		cmd.reply <- err
		switch {
		case err == nil:
			suspended, attempt = false, 0
		case ctx.Err() != nil:
			stop(StateClosed, nil)
			return
		case IsHostKeyError(err):
			stop(StateFailed, err)
			return
		default:
			t.log.Warn("tunnel: resume failed; suspended", "err", err)
			suspended = true
			t.setState(StateSuspended, err)
		}
	}
}

// reconnect makes the connection again after a loss, through the current
// dial function.
func (t *Tunnel) reconnect(ctx context.Context) (*conn, error) {
	actx, done, ok := t.attemptCtx(ctx, nil)
	if !ok {
		return nil, errInterrupted
	}
	defer done()
	c, err := t.establish(actx, t.opt.forwardRetry)
	if err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(actx), errInterrupted) {
			return nil, fmt.Errorf("%w: %v", errInterrupted, err)
		}
		return nil, err
	}
	t.mu.Lock()
	t.reconnects++
	t.mu.Unlock()
	t.up(c)
	return c, nil
}

// resume carries out Resume: it returns the connection the tunnel goes on
// with (old, kept, or a new one), or nil and why there is none; old is
// closed when it is not kept.
func (t *Tunnel) resume(ctx context.Context, cmd command, old *conn) (*conn, error) {
	rctx, done, ok := t.attemptCtx(cmd.ctx, ctx)
	if !ok {
		// Cannot happen: commands take turns (cmdMu), and this one's
		// pending was cleared when it was taken.
		t.drop(old)
		return nil, errInterrupted
	}
	defer done()
	t.mu.Lock()
	t.dial = cmd.path.Dial
	t.mu.Unlock()
	if old != nil {
		start := time.Now()
		err := t.keep(rctx, old, cmd.path)
		if err == nil {
			t.log.Info("tunnel: connection kept across the redial: it answered through the new link",
				"local", old.local, "took", time.Since(start).Round(time.Millisecond))
			t.up(old)
			return old, nil
		}
		t.log.Info("tunnel: connection made through the old link let go; connecting again", "why", err)
		t.drop(old)
	}
	var last error
	for try := 1; ; try++ {
		c, err := t.establish(rctx, 0)
		if err == nil {
			t.mu.Lock()
			t.reconnects++
			t.mu.Unlock()
			t.up(c)
			return c, nil
		}
		if IsHostKeyError(err) {
			return nil, err
		}
		last = err
		if rctx.Err() != nil {
			break
		}
		t.log.Warn("tunnel: connecting through the new link failed", "try", try, "err", err)
		t.setState(StateDown, err)
		if !sleepCtx(rctx, t.backoff(try)) {
			break
		}
	}
	cause := context.Cause(rctx)
	switch {
	case last == nil:
		return nil, fmt.Errorf("tunnel: resume: %w", cause)
	case !errors.Is(last, cause):
		// The last try failed for its own reason, then time ran out.
		return nil, fmt.Errorf("tunnel: resume: %w (last try: %v)", cause, last)
	}
	// It says what was being waited for (e.g. a refused forward) and why
	// the wait ended.
	return nil, last
}

// keep sends old, made through the old link, one keepalive through the
// new one, and says why it cannot be kept (nil: it answered).
func (t *Tunnel) keep(ctx context.Context, old *conn, p Path) error {
	select {
	case <-old.gone:
		return fmt.Errorf("the jump host ended it: %v", old.goneErr)
	default:
	}
	if !old.local.IsValid() || old.local != p.LocalIP.Unmap() {
		// Nothing the jump host sends to the old address reaches this box.
		return fmt.Errorf("the new link has another address (%v, it had %v)", p.LocalIP, old.local)
	}
	if p.Rebind != nil {
		if err := p.Rebind(old.raw); err != nil {
			return fmt.Errorf("rebind to the new link: %w", err)
		}
	}
	if err := old.probe(ctx, t.cfg.Keepalive); err != nil {
		return fmt.Errorf("no answer to a keepalive within %v: %w", t.cfg.Keepalive, err)
	}
	return nil
}

// attemptCtx is the context of one connection attempt: it ends with
// parent or with also (when set), or when a command comes, which must not
// wait behind an attempt through a link that is gone. ok is false when a
// command is already waiting.
func (t *Tunnel) attemptCtx(parent, also context.Context) (ctx context.Context, done func(), ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancelCause(parent)
	stop := func() bool { return false }
	if also != nil {
		stop = context.AfterFunc(also, func() { cancel(context.Cause(also)) })
	}
	t.abort = func() { cancel(errInterrupted) }
	return ctx, func() {
		stop()
		t.mu.Lock()
		t.abort = nil
		t.mu.Unlock()
		cancel(nil)
	}, true
}

// The reconnect delays: a jump host whose sshd restarts is back within a
// second or so, and a refused connection costs one packet each way; a
// jump host that stays away is asked every 30 s.
const (
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 30 * time.Second
)

// stableFor is how long a connection must have held for its loss to be
// news: the first reconnect after it is at once.
const stableFor = 30 * time.Second

// reconnectDelay is the wait before reconnect attempt n (from 1) after a
// loss: none for the first, then backoff.
func (t *Tunnel) reconnectDelay(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	return t.backoff(n - 1)
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

// admit takes one of forward i's slots, if one is free.
func (t *Tunnel) admit(i int) bool {
	for {
		n := t.open[i].Load()
		if n >= MaxChannelsPerForward {
			return false
		}
		if t.open[i].CompareAndSwap(n, n+1) {
			t.channelsChanged(i, int(n+1))
			return true
		}
	}
}

// release frees one of forward i's slots.
func (t *Tunnel) release(i int) {
	n := t.open[i].Add(-1)
	t.full[i].Store(false)
	t.channelsChanged(i, int(n))
}

// refuse counts a channel refused for forward i's limit; the first of a
// run is logged.
func (t *Tunnel) refuse(i int, key string) {
	n := t.refused[i].Add(1)
	if t.full[i].CompareAndSwap(false, true) {
		t.log.Warn("tunnel: forward full; refusing the jump host's further connections",
			"forward", key, "limit", MaxChannelsPerForward, "refused_total", n)
	}
}

func (t *Tunnel) channelsChanged(i, open int) {
	if fn := t.opt.onChannels; fn != nil {
		fn(i, open)
	}
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
