package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is what the link needs to know; the caller maps its own
// configuration onto it.
type Config struct {
	// UpCommand is the dialer's argv, e.g. [pppd call oob nodetach],
	// [ppp -foreground oob] or a script. It must stay in the foreground
	// and in its process group: a wrapper script execs its dialer or waits
	// for it.
	UpCommand []string
	// Interface is the name the dialer's interface gets; empty means the
	// OS's usual first one (ppp0 on Linux, tun0 on FreeBSD).
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
	// addressed, per try (default 60s).
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

// Option configures a Link.
type Option func(*Link)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(k *Link) { k.log = l } }

// WithTries calls f after each try with its error (nil: the path is up),
// for the metrics.
func WithTries(f func(*TryError)) Option { return func(k *Link) { k.tried = f } }

// WithJournal keeps the leftovers and the clean-up's state in j (default:
// nowhere).
func WithJournal(j Journal) Option { return func(k *Link) { k.journal = j } }

// Link brings up the out-of-band link, one Path at a time, and owns the
// clean-up of whatever a crashed run, a failed try or a failed Down left.
type Link struct {
	cfg     Config
	log     *slog.Logger
	journal Journal
	os      osLink
	now     func() time.Time
	tried   func(*TryError) // nil: nobody counts the tries

	// Waits the tests shorten.
	dropSettle time.Duration // a drop waits this long for its other half
	goneWait   time.Duration // a clean-up waits this long, after the grace period, for the group and the interface to go
	dnsPort    uint16

	mu sync.Mutex // guards pending and failureRecorded
	// pending is what a clean-up that failed left; it is retried before
	// every dial.
	pending *Leftovers
	// failureRecorded is set while the journal may hold a failed clean-up
	// (at first: a previous run's, unknown), so that a success clears it.
	failureRecorded bool
}

// New checks cfg, fills in defaults and returns a Link.
func New(cfg Config, opts ...Option) (*Link, error) {
	if len(cfg.UpCommand) == 0 {
		return nil, errors.New("link: no up command")
	}
	if cfg.Interface == "" {
		cfg.Interface = defaultInterface(runtime.GOOS)
	}
	if _, _, err := splitJumpHost(cfg.JumpHost); err != nil {
		return nil, err
	}
	cfg.Attempts = max(cfg.Attempts, 1)
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
	l := &Link{
		cfg:             cfg,
		log:             slog.Default(),
		journal:         discardJournal{},
		os:              newOSLink(),
		now:             time.Now,
		dropSettle:      3 * time.Second,
		goneWait:        10 * time.Second,
		dnsPort:         53,
		failureRecorded: true,
	}
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
	StepDial    = "dial"    // the up command could not start, or what an earlier try left is still there
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

// Summary is the reason in a few words, for an SMS: the tries and where
// the last one failed, as in "PPP x3: no IP".
func (e *UpError) Summary() string {
	if len(e.Tries) == 0 {
		return "PPP: no try made"
	}
	last := e.Tries[len(e.Tries)-1]
	s := fmt.Sprintf("PPP x%d: %s", len(e.Tries), stepSummary(last.Step))
	if last.DialerStatus != "" && (last.Step == StepDial || last.Step == StepUp) {
		s += " (dialer " + last.DialerStatus + ")"
	}
	return s
}

// stepSummary says what failing at a step means, in the fewest words.
func stepSummary(step string) string {
	switch step {
	case StepDial:
		return "dialer did not start"
	case StepUp:
		return "no IP"
	case StepResolve:
		return "jump host name did not resolve over the link"
	case StepRoute:
		return "host route not installed"
	case StepCheck:
		return "route to jump host not via the link"
	case StepProbe:
		return "no TCP to jump host over the link"
	}
	return step
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

// Summary is the reason in a few words, for an SMS.
func (e *DropError) Summary() string {
	s := "link dropped: " + e.Reason
	if e.DialerStatus != "" {
		s += " (" + e.DialerStatus + ")"
	}
	return s
}

// Up brings the link up and proves the path to the jump host, trying up to
// Attempts times with backoff. Before each dial it retries a clean-up that
// failed, and does not dial while that still fails. On failure everything
// each try started is taken down again and the error is an *UpError.
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
		p, terr := l.try(ctx, n)
		if l.tried != nil {
			l.tried(terr)
		}
		if terr == nil {
			return p, nil
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
	watch    ifaceWatch
	dialer   *dialer
	info     linkInfo
	routes   []netip.Addr // host routes this try added
	leftover Leftovers
	// dialTook and proveTook are how long the dial (dialer to interface up
	// and addressed) and the path proof took.
	dialTook, proveTook time.Duration
}

func (l *Link) try(ctx context.Context, n int) (*Path, *TryError) {
	if err := l.retryCleanup(ctx); err != nil {
		return nil, &TryError{Try: n, Step: StepDial, Err: err}
	}
	t := &try{link: l, n: n, leftover: Leftovers{Interface: l.cfg.Interface}}
	p, step, err := t.up(ctx)
	if err == nil {
		return p, nil
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
	if err := t.link.journal.Record(t.leftover.clone()); err != nil {
		return fmt.Errorf("record leftovers: %w", err)
	}
	return nil
}

// up climbs the ladder; the step it fails at is returned with the error.
func (t *try) up(ctx context.Context) (*Path, string, error) {
	l := t.link
	cfg := l.cfg
	log := l.log.With("try", t.n, "interface", cfg.Interface)

	w, err := l.os.watch(cfg.Interface)
	if err != nil {
		return nil, StepUp, fmt.Errorf("watch %s: %w", cfg.Interface, err)
	}
	t.watch = w
	// An interface by that name now is not this try's (pppd would take
	// the next unit): most likely a dialer left by a run that crashed.
	held, err := w.present()
	if err != nil {
		return nil, StepDial, fmt.Errorf("look for %s before dialing: %w", cfg.Interface, err)
	}
	if held {
		return nil, StepDial, fmt.Errorf("%s exists before dialing (left by an earlier run?)", cfg.Interface)
	}

	// The intent first: a crash from here on leaves a journal that names
	// what to look for.
	t.leftover.Dialer = &Process{Cmdline: cfg.UpCommand}
	if err := t.record(); err != nil {
		t.leftover.Dialer = nil
		return nil, StepDial, err
	}
	log.Info("link: starting dialer", "command", loggableArgv(cfg.UpCommand))
	dialStart := time.Now()
	d, err := startDialer(cfg.UpCommand, l.log)
	if err != nil {
		t.leftover.Dialer = nil
		return nil, StepDial, fmt.Errorf("start %s: %w", cfg.UpCommand[0], err)
	}
	t.dialer = d
	t.leftover.Dialer = &Process{PID: d.pid(), StartTime: l.startTime(d.pid()), Cmdline: cfg.UpCommand}
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
	t.dialTook = time.Since(dialStart)
	proveStart := time.Now()
	log.Info("link: interface up", "local", info.local, "peer", info.peer)

	pctx, cancel := context.WithTimeout(ctx, cfg.ProbeTimeout)
	defer cancel()
	bound := l.os.dialer(info)
	servers := l.dnsServers()
	bound.Resolver = boundResolver(bound, servers, l.dnsPort)
	host, port, _ := splitJumpHost(cfg.JumpHost)
	jumpIP, err := resolve4(pctx, bound.Resolver, host)
	if err != nil {
		return nil, StepResolve, err
	}
	jump := netip.AddrPortFrom(jumpIP, uint16(port))

	if cfg.PinRoute {
		if err := t.pinRoute(jumpIP, log); err != nil {
			return nil, StepRoute, err
		}
	}

	// The kernel's own answer, unrestricted: which interface would it use?
	// Without a pinned route the dialer's ip-up script may still be adding
	// its own, so a wrong answer is asked again on each routing change
	// for a moment.
	via, err := l.os.routeVia(jumpIP)
	if err == nil && via != info.name && !cfg.PinRoute {
		via, err = l.awaitRoute(pctx, jumpIP, info.name)
	}
	if err != nil {
		return nil, StepCheck, fmt.Errorf("route to %s: %w", jumpIP, err)
	}
	if via != info.name {
		return nil, StepCheck, fmt.Errorf("kernel routes %s via %s, not %s", jumpIP, via, info.name)
	}

	conn, err := bound.DialContext(pctx, "tcp4", jump.String())
	if err != nil {
		return nil, StepProbe, fmt.Errorf("connect %s via %s: %w", jump, info.name, err)
	}
	src := conn.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	conn.Close()
	if src != info.local {
		return nil, StepProbe, fmt.Errorf("connect %s went out from %s, not %s's %s", jump, src, info.name, info.local)
	}
	log.Info("link: path proven", "jump", jump, "via", via, "source", src)
	t.proveTook = time.Since(proveStart)
	return newPath(t, bound, jump), "", nil
}

// pinRoute records, then installs the host route to dst via the link.
func (t *try) pinRoute(dst netip.Addr, log *slog.Logger) error {
	l := t.link
	t.leftover.Routes = append(t.leftover.Routes, Route{Destination: dst.String(), Interface: t.info.name})
	if err := t.record(); err != nil {
		return err
	}
	added, err := l.os.addRoute(dst, t.info)
	if err != nil {
		return fmt.Errorf("host route to %s via %s: %w", dst, t.info.name, err)
	}
	if !added {
		// Already there via the link (the dialer's own): not ours to remove.
		t.leftover.Routes = t.leftover.Routes[:len(t.leftover.Routes)-1]
		return t.record()
	}
	t.routes = append(t.routes, dst)
	log.Info("link: host route installed", "dst", dst)
	return nil
}

// startTime is pid's start time, empty if it cannot be read (the process
// may have exited already): then a crash leaves a dialer that cannot be
// told from a process that reused its PID, and it is not stopped.
func (l *Link) startTime(pid int) string {
	procs, err := l.os.processes()
	if err == nil {
		for _, p := range procs {
			if p.pid == pid {
				return p.start
			}
		}
		err = errors.New("not listed")
	}
	l.log.Warn("link: reading the dialer's start time", "pid", pid, "err", err)
	return ""
}

// teardown undoes what the try brought up, in reverse: host routes, dialer,
// interface; then the journal. What it could not undo stays recorded and
// is the link's to clean up before the next dial.
func (t *try) teardown(ctx context.Context) error {
	l := t.link
	var errs []error
	var kept []netip.Addr
	for _, dst := range t.routes {
		if err := l.os.delRoute(dst, t.info.name); err != nil {
			errs = append(errs, fmt.Errorf("remove host route to %s via %s: %w", dst, t.info.name, err))
			kept = append(kept, dst)
			continue
		}
		l.log.Info("link: host route removed", "dst", dst)
	}
	t.routes = kept
	t.leftover.Routes = nil
	for _, dst := range kept {
		t.leftover.Routes = append(t.leftover.Routes, Route{Destination: dst.String(), Interface: t.info.name})
	}
	if t.dialer != nil {
		if err := t.dialer.stop(ctx, l.cfg.StopGrace); err != nil {
			errs = append(errs, fmt.Errorf("stop dialer: %w", err))
		} else {
			l.log.Info("link: dialer stopped", "status", t.dialer.status())
			t.leftover.Dialer = nil
		}
	}
	ifaceLeft := ""
	if t.watch != nil {
		// Only an interface this try's dialer made is waited for.
		if t.dialer != nil {
			if err := t.watch.waitGone(ctx); err != nil {
				errs = append(errs, fmt.Errorf("wait for %s to go: %w", l.cfg.Interface, err))
				ifaceLeft = l.cfg.Interface
			}
		}
		t.watch.close()
		t.watch = nil
	}
	if err := t.record(); err != nil {
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if serr := l.settle(t.leftover.clone(), ifaceLeft, err); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("link: down: %w", err)
	}
	return nil
}

// dnsServers are the configured servers, else those the dialer wrote.
func (l *Link) dnsServers() []netip.Addr {
	if len(l.cfg.DNS) > 0 {
		return l.cfg.DNS
	}
	b, err := os.ReadFile(l.cfg.ResolvConf)
	if err != nil {
		// An IP-literal jump host needs no DNS; other names fail at look-up.
		l.log.Info("link: no DNS servers from the dialer", "err", err)
		return nil
	}
	return parseResolvConf(b)
}

// awaitRoute asks the kernel again which interface routes dst, after every
// change of the routing table, until it says want or RouteSettle has
// passed. It returns the last answer.
func (l *Link) awaitRoute(ctx context.Context, dst netip.Addr, want string) (string, error) {
	changes, stop, err := l.os.routeChanges()
	if err != nil {
		return "", fmt.Errorf("watch routes: %w", err)
	}
	defer stop()
	timer := time.NewTimer(l.cfg.RouteSettle)
	defer timer.Stop()
	for {
		// Subscribed first, then asked: no change can slip between.
		via, err := l.os.routeVia(dst)
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
