//go:build linux || freebsd

package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what the link needs to know; the caller maps its own
// configuration onto it.
type Config struct {
	// UpCommand is the dialer's argv, e.g. [pppd call oob nodetach] or
	// [ppp -foreground oob]. It must stay in the foreground.
	UpCommand []string
	// Interface is the name the dialer's interface gets; empty means
	// DefaultInterface (ppp0 on Linux, tun0 on FreeBSD).
	Interface string
	// DNS are the servers to ask for the jump host's address over the link;
	// empty means the "nameserver" lines of ResolvConf, read after the link
	// is up.
	DNS []netip.Addr
	// ResolvConf is where the dialer writes the servers the peer offered;
	// empty means DefaultResolvConf.
	ResolvConf string
	// Attempts is how many tries Up makes (at least 1).
	Attempts int
	// UpTimeout bounds the wait for the interface to be up, running and
	// addressed, per try.
	UpTimeout time.Duration
	// ProbeTimeout bounds the name look-up and the TCP probe, per try
	// (default 20s).
	ProbeTimeout time.Duration
	// PinRoute installs a host route to the jump host via the interface.
	PinRoute bool
	// RouteSettle is how long, without PinRoute, the route check waits for
	// the dialer's own routes (pppd runs ip-up after the interface is up)
	// before it calls the path wrong (default 5s).
	RouteSettle time.Duration
	// JumpHost is the jump host's "host:port"; the probe connects to it.
	JumpHost string
	// StopGrace is how long the dialer has between SIGTERM and SIGKILL
	// (default 10s).
	StopGrace time.Duration
	// Backoff is the wait after the first failed try; it doubles after each
	// further failure up to MaxBackoff (defaults 2s and 30s).
	Backoff, MaxBackoff time.Duration
}

// Hooks run around the dialer. A single-port modem's AT session is closed in
// BeforeDial and re-opened in AfterDown. Every BeforeDial that returned nil
// is followed by exactly one AfterDown, once the dialer has exited and its
// interface is gone (or waiting for that failed): after a failed try, and
// in [Path.Down].
type Hooks struct {
	BeforeDial func(ctx context.Context) error
	AfterDown  func(ctx context.Context)
}

// Option configures a Link.
type Option func(*Link)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(k *Link) { k.log = l } }

// WithJournal records leftovers in j before they exist (default: nowhere).
func WithJournal(j Journal) Option { return func(k *Link) { k.journal = j } }

// WithHooks sets the hooks run around the dialer.
func WithHooks(h Hooks) Option { return func(k *Link) { k.hooks = h } }

// Link brings up the out-of-band link. One Path at a time.
type Link struct {
	cfg     Config
	log     *slog.Logger
	journal Journal
	hooks   Hooks
}

// New checks cfg, fills in defaults and returns a Link.
func New(cfg Config, opts ...Option) (*Link, error) {
	if len(cfg.UpCommand) == 0 {
		return nil, errors.New("link: no up command")
	}
	if cfg.Interface == "" {
		cfg.Interface = DefaultInterface
	}
	if _, _, err := splitJumpHost(cfg.JumpHost); err != nil {
		return nil, err
	}
	if cfg.Attempts < 1 {
		cfg.Attempts = 1
	}
	if cfg.UpTimeout <= 0 {
		cfg.UpTimeout = 60 * time.Second
	}
	if cfg.RouteSettle <= 0 {
		cfg.RouteSettle = 5 * time.Second
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 20 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.Backoff)
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = DefaultResolvConf
	}
	cfg.UpCommand = append([]string(nil), cfg.UpCommand...)
	l := &Link{cfg: cfg, log: slog.Default(), journal: discardJournal{}}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

func splitJumpHost(hp string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("link: jump host %q: %w", hp, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || h == "" {
		return "", 0, fmt.Errorf("link: jump host %q: want host:port", hp)
	}
	return h, n, nil
}

// Steps of a try, as reported in TryError.Step.
const (
	StepDial    = "dial"    // the up command could not start
	StepUp      = "up"      // no interface up with an IPv4 address in time
	StepResolve = "resolve" // the jump host's name did not resolve over the link
	StepRoute   = "route"   // the host route could not be installed
	StepCheck   = "check"   // the kernel routes the jump host elsewhere
	StepProbe   = "probe"   // no TCP connection to the jump host over the link
)

// TryError is why one try failed.
type TryError struct {
	Try  int
	Step string
	Err  error
	// DialerStatus and DialerOutput are the dialer's exit status (empty if
	// it was still running) and last output lines.
	DialerStatus string
	DialerOutput []string
}

func (e *TryError) Error() string {
	s := fmt.Sprintf("try %d: %s: %v", e.Try, e.Step, e.Err)
	if e.DialerStatus != "" {
		s += " (dialer " + e.DialerStatus + ")"
	}
	if len(e.DialerOutput) > 0 {
		s += ": " + strings.Join(e.DialerOutput, " | ")
	}
	return s
}

func (e *TryError) Unwrap() error { return e.Err }

// UpError is a failed Up: every try's error.
type UpError struct {
	Tries []*TryError
}

func (e *UpError) Error() string {
	parts := make([]string, len(e.Tries))
	for i, t := range e.Tries {
		parts[i] = t.Error()
	}
	return fmt.Sprintf("link: %d tries failed: %s", len(e.Tries), strings.Join(parts, "; "))
}

func (e *UpError) Unwrap() []error {
	errs := make([]error, len(e.Tries))
	for i, t := range e.Tries {
		errs[i] = t
	}
	return errs
}

// ErrDown is Path.Err after Down, when the link did not drop first.
var ErrDown = errors.New("link: taken down")

// DropError is Path.Err after the link dropped by itself.
type DropError struct {
	Reason       string // "dialer exited" or "interface gone"
	DialerStatus string
	DialerOutput []string
}

func (e *DropError) Error() string {
	s := "link: dropped: " + e.Reason
	if e.DialerStatus != "" {
		s += " (" + e.DialerStatus + ")"
	}
	if len(e.DialerOutput) > 0 {
		s += ": " + strings.Join(e.DialerOutput, " | ")
	}
	return s
}

// Summary is the reason in a few words, for an SMS: the tries and where
// the last one failed, as in "PPP x3: no IP".
func (e *UpError) Summary() string {
	if len(e.Tries) == 0 {
		return "PPP: no try made"
	}
	last := e.Tries[len(e.Tries)-1]
	s := fmt.Sprintf("PPP x%d: %s", len(e.Tries), stepSummary[last.Step])
	if last.DialerStatus != "" && (last.Step == StepDial || last.Step == StepUp) {
		s += " (dialer " + last.DialerStatus + ")"
	}
	return s
}

// stepSummary says what failing at a step means, in the fewest words.
var stepSummary = map[string]string{
	StepDial:    "dialer did not start",
	StepUp:      "no IP",
	StepResolve: "jump host name did not resolve over the link",
	StepRoute:   "host route not installed",
	StepCheck:   "route to jump host not via the link",
	StepProbe:   "no TCP to jump host over the link",
}

// Summary is the reason in a few words, for an SMS.
func (e *DropError) Summary() string {
	s := "link dropped: " + e.Reason
	if e.DialerStatus != "" {
		s += " (" + e.DialerStatus + ")"
	}
	return s
}

// Counters are the bytes through the link's interface.
type Counters struct {
	RxBytes, TxBytes uint64
}

// Path is a link that is up and proven to carry traffic to the jump
// host.
type Path struct {
	Interface string
	LocalIP   netip.Addr
	PeerIP    netip.Addr // invalid when the interface has no peer address
	JumpIP    netip.Addr
	// JumpAddr is JumpIP and the jump host's port, for the tunnel to dial.
	JumpAddr string
	// DNS are the servers the Dialer's Resolver asks, over the link.
	DNS []netip.Addr
	// Dialer sends only through the link: its sockets are bound to the
	// interface (SO_BINDTODEVICE on Linux, the local address on FreeBSD),
	// and its Resolver asks DNS over the link.
	Dialer *net.Dialer
	// DialerPID is the up command's process ID.
	DialerPID int

	t        *try
	done     chan struct{}
	stopping chan struct{}
	monitor  chan struct{} // closed when the monitor goroutine has returned
	err      atomic.Pointer[error]
	downOnce sync.Once
	downErr  error
	// lastCounts is the last Counters read, kept for after the interface
	// is gone.
	lastCounts atomic.Value
}

// Done is closed when the path has ended: the link dropped, or Down.
func (s *Path) Done() <-chan struct{} { return s.done }

// Err is nil while the path lasts, then a *DropError if the link
// dropped, or ErrDown.
func (s *Path) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Bytes reads the interface's byte counters.
//
// Once the interface is gone (the link dropped, or Down) its counters go
// with it: Bytes then returns the last counts it read, with the error.
func (s *Path) Bytes() (Counters, error) {
	c, err := readCounters(s.t.info)
	if err != nil {
		// Counters only grow: the larger of the deletion notice's and the
		// last read is the best there is (a veth's notice has no rx).
		last, _ := s.lastCounts.Load().(Counters)
		if final, ok := s.t.watch.lastCounts(); ok {
			return Counters{RxBytes: max(final.RxBytes, last.RxBytes), TxBytes: max(final.TxBytes, last.TxBytes)}, nil
		}
		return last, fmt.Errorf("link: counters of %s: %w", s.Interface, err)
	}
	s.lastCounts.Store(c)
	return c, nil
}

// Down ends the path: removes the host route, stops the dialer (SIGTERM
// to its group, SIGKILL after the grace period), waits for the interface to
// go, clears the journal and runs the AfterDown hook. The tunnel is the
// caller's to close first. Down is idempotent; it also follows a drop.
func (s *Path) Down(ctx context.Context) error {
	s.downOnce.Do(func() {
		close(s.stopping)
		<-s.monitor
		s.Bytes() // the final counts, before the interface goes
		s.downErr = s.t.teardown(ctx)
		e := ErrDown
		s.err.CompareAndSwap(nil, &e)
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	})
	return s.downErr
}

func (s *Path) watch() {
	defer close(s.monitor)
	var reason string
	select {
	case <-s.stopping:
		return
	case <-s.t.dialer.exited:
		reason = "dialer exited"
		// The kernel removes the interface as the dialer goes: wait a
		// moment for that, so its last counters (in the deletion notice)
		// are known before the drop is reported.
		select {
		case <-s.t.watch.gone():
		case <-time.After(2 * time.Second):
		}
	case <-s.t.watch.gone():
		reason = "interface gone"
	}
	s.Bytes() // the last counts: from the deletion notice, or read now
	e := error(&DropError{Reason: reason, DialerStatus: s.t.dialer.status(), DialerOutput: s.t.dialer.lastLines()})
	s.t.link.log.Warn("link: dropped", "interface", s.Interface, "err", e)
	s.err.Store(&e)
	close(s.done)
}

// Up brings the link up and proves the path to the jump host, trying up to
// Attempts times with backoff. On failure everything each try started is
// taken down again and the error is an *UpError.
func (l *Link) Up(ctx context.Context) (*Path, error) {
	var fails []*TryError
	wait := l.cfg.Backoff
	for n := 1; n <= l.cfg.Attempts; n++ {
		if n > 1 {
			l.log.Info("link: backing off before next try", "try", n, "wait", wait)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("link: up: %w (after %w)", ctx.Err(), &UpError{Tries: fails})
			}
			wait = min(2*wait, l.cfg.MaxBackoff)
		}
		s, terr := l.try(ctx, n)
		if terr == nil {
			return s, nil
		}
		l.log.Warn("link: try failed", "try", n, "attempts", l.cfg.Attempts, "err", terr)
		fails = append(fails, terr)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &UpError{Tries: fails}
}

// try is one dial: what it brought up, so that it can be taken down.
type try struct {
	link     *Link
	n        int
	hooked   bool // BeforeDial succeeded, AfterDown is owed
	watch    ifaceWatch
	dialer   *dialer
	info     linkInfo
	routes   []netip.Addr
	leftover Leftovers
}

func (l *Link) try(ctx context.Context, n int) (*Path, *TryError) {
	t := &try{link: l, n: n, leftover: Leftovers{Interface: l.cfg.Interface}}
	s, step, err := t.up(ctx)
	if err == nil {
		return s, nil
	}
	te := &TryError{Try: n, Step: step, Err: err}
	if t.dialer != nil {
		te.DialerStatus = t.dialer.status()
		te.DialerOutput = t.dialer.lastLines()
	}
	// Take down with a fresh context: the caller's may be what ended the try.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.StopGrace+l.cfg.UpTimeout)
	defer cancel()
	if derr := t.teardown(dctx); derr != nil {
		te.Err = errors.Join(te.Err, derr)
	}
	return nil, te
}

func (t *try) record() error {
	return t.link.journal.Record(t.leftover.clone())
}

func (t *try) up(ctx context.Context) (*Path, string, error) {
	l := t.link
	cfg := l.cfg
	log := l.log.With("try", t.n, "interface", cfg.Interface)
	if l.hooks.BeforeDial != nil {
		if err := l.hooks.BeforeDial(ctx); err != nil {
			return nil, StepDial, fmt.Errorf("before dial: %w", err)
		}
	}
	t.hooked = true

	w, err := watchInterface(cfg.Interface)
	if err != nil {
		return nil, StepUp, fmt.Errorf("watch %s: %w", cfg.Interface, err)
	}
	t.watch = w
	// An interface by that name now is not this try's (pppd would take
	// the next unit): most likely a dialer left by a run that crashed.
	if ok, err := interfaceExists(cfg.Interface); err != nil || ok {
		return nil, StepDial, fmt.Errorf("%s exists before dialing (left by an earlier run?): %v", cfg.Interface, err)
	}

	// The intent first: a crash from here on leaves a journal that names
	// what to look for.
	t.leftover.Dialer = &Process{Cmdline: cfg.UpCommand}
	if err := t.record(); err != nil {
		return nil, StepDial, err
	}
	log.Info("link: starting dialer", "command", loggableArgv(cfg.UpCommand))
	d, err := startDialer(cfg.UpCommand, l.log)
	if err != nil {
		t.leftover.Dialer = nil
		return nil, StepDial, fmt.Errorf("start %s: %w", cfg.UpCommand[0], err)
	}
	t.dialer = d
	start, _, _, err := processIdentity(d.pid())
	if err != nil {
		// It may already have exited; record what is known.
		log.Warn("link: reading dialer start time", "err", err)
	}
	t.leftover.Dialer = &Process{PID: d.pid(), StartTime: start, Cmdline: cfg.UpCommand}
	if err := t.record(); err != nil {
		return nil, StepDial, err
	}

	upCtx, cancel := context.WithTimeout(ctx, cfg.UpTimeout)
	info, err := w.ready(upCtx, d.exited)
	cancel()
	if err != nil {
		return nil, StepUp, err
	}
	t.info = info
	log.Info("link: interface up", "local", info.local, "peer", info.peer)

	pctx, cancel := context.WithTimeout(ctx, cfg.ProbeTimeout)
	defer cancel()
	bound := boundDialer(info)
	servers, err := l.dnsServers()
	if err != nil {
		return nil, StepResolve, err
	}
	bound.Resolver = boundResolver(bound, servers)
	host, port, _ := splitJumpHost(cfg.JumpHost)
	jumpIP, err := resolve4(pctx, bound.Resolver, host)
	if err != nil {
		return nil, StepResolve, err
	}
	jumpAddr := netip.AddrPortFrom(jumpIP, uint16(port)).String()

	if cfg.PinRoute {
		t.leftover.Routes = append(t.leftover.Routes, HostRoute{Dst: jumpIP.String(), Interface: info.name})
		if err := t.record(); err != nil {
			return nil, StepRoute, err
		}
		added, err := addHostRoute(jumpIP, info)
		if err != nil {
			return nil, StepRoute, fmt.Errorf("host route to %s via %s: %w", jumpIP, info.name, err)
		}
		if added {
			t.routes = append(t.routes, jumpIP)
			log.Info("link: host route installed", "dst", jumpIP)
		} else {
			// Already there via the link (the dialer's own): not ours to remove.
			t.leftover.Routes = t.leftover.Routes[:len(t.leftover.Routes)-1]
			if err := t.record(); err != nil {
				return nil, StepRoute, err
			}
		}
	}

	// The kernel's own answer, unrestricted: which interface would it use?
	// Without a pinned route the dialer's ip-up script may still be adding
	// its own, so a wrong answer is asked again on each routing change
	// for a moment.
	via, err := routeInterface(jumpIP)
	if err == nil && via != info.name && !cfg.PinRoute {
		via, err = awaitRoute(pctx, jumpIP, info.name, cfg.RouteSettle)
	}
	if err != nil {
		return nil, StepCheck, fmt.Errorf("route to %s: %w", jumpIP, err)
	}
	if via != info.name {
		return nil, StepCheck, fmt.Errorf("kernel routes %s via %s, not %s", jumpIP, via, info.name)
	}

	conn, err := bound.DialContext(pctx, "tcp4", jumpAddr)
	if err != nil {
		return nil, StepProbe, fmt.Errorf("connect %s via %s: %w", jumpAddr, info.name, err)
	}
	src := conn.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	conn.Close()
	if src != info.local {
		return nil, StepProbe, fmt.Errorf("connect %s went out from %s, not %s's %s", jumpAddr, src, info.name, info.local)
	}
	log.Info("link: path proven", "jump", jumpAddr, "via", via, "source", src)

	s := &Path{
		Interface: info.name,
		LocalIP:   info.local,
		PeerIP:    info.peer,
		JumpIP:    jumpIP,
		JumpAddr:  jumpAddr,
		DNS:       servers,
		Dialer:    bound,
		DialerPID: d.pid(),
		t:         t,
		done:      make(chan struct{}),
		stopping:  make(chan struct{}),
		monitor:   make(chan struct{}),
	}
	go s.watch()
	return s, "", nil
}

// teardown undoes what the try brought up, in reverse: host routes, dialer,
// interface; then the journal and the AfterDown hook.
func (t *try) teardown(ctx context.Context) error {
	l := t.link
	var errs []error
	for _, dst := range t.routes {
		if err := delHostRoute(dst, t.info); err != nil {
			errs = append(errs, fmt.Errorf("remove host route to %s: %w", dst, err))
		} else {
			l.log.Info("link: host route removed", "dst", dst)
		}
	}
	t.routes = nil
	if len(errs) == 0 {
		t.leftover.Routes = nil
	}
	if t.dialer != nil {
		if err := t.dialer.stop(ctx, l.cfg.StopGrace); err != nil {
			errs = append(errs, fmt.Errorf("stop dialer: %w", err))
		} else {
			l.log.Info("link: dialer stopped", "status", t.dialer.status())
			t.leftover.Dialer = nil
		}
	} else {
		t.leftover.Dialer = nil
	}
	if t.watch != nil {
		// Only an interface this try's dialer made is waited for.
		if t.dialer != nil {
			if err := t.watch.waitGone(ctx); err != nil {
				errs = append(errs, fmt.Errorf("wait for %s to go: %w", l.cfg.Interface, err))
			}
		}
		t.watch.close()
		t.watch = nil
	}
	if err := t.record(); err != nil {
		errs = append(errs, err)
	}
	if t.hooked && l.hooks.AfterDown != nil {
		t.hooked = false
		l.hooks.AfterDown(ctx)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("link: down: %w", err)
	}
	return nil
}

func (l *Link) dnsServers() ([]netip.Addr, error) {
	if len(l.cfg.DNS) > 0 {
		return l.cfg.DNS, nil
	}
	b, err := os.ReadFile(l.cfg.ResolvConf)
	if err != nil {
		// An IP-literal jump host needs no DNS; other names fail at look-up.
		l.log.Info("link: no DNS servers from the dialer", "err", err)
		return nil, nil
	}
	return parseResolvConf(b), nil
}

// boundResolver asks servers, in turn, over sockets from d (bound to the
// link), whatever /etc/resolv.conf says.
func boundResolver(d *net.Dialer, servers []netip.Addr) *net.Resolver {
	servers = append([]netip.Addr(nil), servers...)
	var next atomic.Uint32
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if len(servers) == 0 {
				return nil, errors.New("no DNS servers for the link")
			}
			s := servers[int(next.Add(1)-1)%len(servers)]
			plain := &net.Dialer{Control: d.Control}
			// A local address (FreeBSD's binding) must match the network.
			if a, ok := d.LocalAddr.(*net.TCPAddr); ok {
				if strings.HasPrefix(network, "udp") {
					plain.LocalAddr = &net.UDPAddr{IP: a.IP}
				} else {
					plain.LocalAddr = a
				}
			}
			return plain.DialContext(ctx, network, netip.AddrPortFrom(s, 53).String())
		},
	}
}

func resolve4(ctx context.Context, r *net.Resolver, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().Is4() {
			return netip.Addr{}, fmt.Errorf("jump host %s: not IPv4", host)
		}
		return a.Unmap(), nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("look up %s: %w", host, err)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("look up %s: no IPv4 address", host)
}

// awaitRoute asks the kernel again which interface routes dst, after every
// change of the routing table, until it says want or settle has passed.
// It returns the last answer.
func awaitRoute(ctx context.Context, dst netip.Addr, want string, settle time.Duration) (string, error) {
	changes, stop, err := routeChanges()
	if err != nil {
		return "", fmt.Errorf("watch routes: %w", err)
	}
	defer stop()
	timer := time.NewTimer(settle)
	defer timer.Stop()
	for {
		// Subscribed first, then asked: no change can slip between.
		via, err := routeInterface(dst)
		if err != nil || via == want {
			return via, err
		}
		select {
		case <-changes:
		case <-timer.C:
			return via, nil
		case <-ctx.Done():
			return via, nil
		}
	}
}
