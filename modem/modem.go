package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"

	"github.com/oobd/oobd/internal/gsmtables"
)

// Modem is the hold on one modem for as long as the program runs.
//
// A Modem made by New opens its port on first use and again after every
// trouble: a command that gets no answer at all, or a port that goes away,
// starts the recovery ladder (see Recover) in the background, and until it
// is done every operation returns ErrRecovering at once. The port can be
// lent to the dialer of a single-port modem (Release) and taken back
// (Reacquire). Counters and the memory of a rejected PIN outlive every
// re-open, and, with WithMemory, every restart.
//
// A Modem made by Open is a tool's one conversation: the port is opened at
// once, and troubles are returned, never healed behind the caller's back.
//
// Methods may be called from several goroutines; they take turns on the
// port.
type Modem struct {
	path string
	o    options
	heal bool // start the ladder on trouble (New) or not (Open)

	// life ends with Close; a background ladder runs under it.
	life    context.Context
	endLife context.CancelFunc
	ladders sync.WaitGroup
	// stopLadder cancels the running background ladder, if any.
	stopLadder atomic.Pointer[context.CancelFunc]

	// turn is held by whoever talks to the port: one operation, or a
	// recovery ladder for its whole run. A channel, so that waiting for it
	// can end with the caller's context.
	turn chan struct{}
	// recovering is set while a background ladder holds turn: operations
	// return ErrRecovering instead of waiting for it.
	recovering atomic.Bool

	// Guarded by turn.
	conn     *atConn // nil while the port is not open
	released bool    // lent to the dialer
	closed   bool
	sim      simState
	streak   int // ladders run since the modem last answered
	refs     refCounter
	cache    cache

	// urc is what the modem says unprompted; see unsolicited.
	urc unsolicited
	// cached is cache.info for readers that must not wait for the port.
	cachedMu sync.Mutex // guards cached
	cached   Info

	// arrivals is signalled (without blocking) on every +CMTI, and when
	// the modem answers again after recovery: texts may be waiting.
	arrivals       chan struct{}
	arrivalMu      sync.Mutex // guards arrivalsClosed against a late +CMTI
	arrivalsClosed bool

	stats statsBox
}

// atConn is one open port and the AT engine reading it.
type atConn struct {
	w  *wire
	at *at.AT
}

// New returns the Modem on the AT port at path. Nothing is opened until
// it is first used.
func New(path string, opts ...Option) *Modem {
	gsmtables.Ready() // the SMS library's tables, before goroutines share them
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	m := &Modem{path: path, o: o, heal: true, turn: make(chan struct{}, 1), arrivals: make(chan struct{}, 1)}
	m.urc = unsolicited{now: o.now, arrived: m.arrived}
	m.life, m.endLife = context.WithCancel(context.Background())
	m.refs.seed(o.now())
	m.stats.init(o.memory, o.log)
	return m
}

// Open opens the modem's AT port at once and initialises it (echo off,
// verbose errors, PDU mode, SIM storage, indications when asked, the SIM
// PIN when the SIM wants it and a PIN file is set). A SIM that stays
// locked does not fail Open: Info reports it, and the message operations
// return ErrSIMNotReady. Troubles later are returned as they are; call
// Recover to heal them.
func Open(ctx context.Context, path string, opts ...Option) (*Modem, error) {
	m := New(path, opts...)
	m.heal = false
	if err := m.do(ctx, func(*atConn) error { return nil }); err != nil {
		m.Close()
		return nil, err
	}
	if stable := stableName(path); stable != "" {
		m.o.log.Info("modem: the port has a stable name that survives re-enumeration; prefer it in the config",
			"port", path, "stable", stable)
	}
	return m, nil
}

// stableName returns the /dev/serial/by-id/ link to port, when port is
// not already one and such a link exists.
func stableName(port string) string {
	const dir = "/dev/serial/by-id/"
	if strings.HasPrefix(port, dir) {
		return ""
	}
	real, err := filepath.EvalSymlinks(port)
	if err != nil {
		return ""
	}
	links, _ := filepath.Glob(dir + "*")
	for _, l := range links {
		if r, err := filepath.EvalSymlinks(l); err == nil && r == real {
			return l
		}
	}
	return ""
}

// Path is the AT port the Modem uses.
func (m *Modem) Path() string { return m.path }

// Close closes the port for good, stopping a recovery under way. It is
// idempotent, waits for every goroutine, and closes Arrivals.
func (m *Modem) Close() error {
	m.endLife()
	m.acquireWait(context.Background())
	if !m.closed {
		m.closed = true
		m.closeConn()
	}
	m.release()
	m.ladders.Wait()
	m.arrivalMu.Lock()
	if !m.arrivalsClosed {
		m.arrivalsClosed = true
		close(m.arrivals)
	}
	m.arrivalMu.Unlock()
	return nil
}

// Release closes the port and keeps it closed until Reacquire: the dialer
// of a single-port modem needs it as its data line. A recovery under way
// is stopped (the session comes first). Until Reacquire every operation
// returns ErrReleased.
func (m *Modem) Release(ctx context.Context) error {
	if p := m.stopLadder.Load(); p != nil {
		(*p)()
	}
	if err := m.acquireWait(ctx); err != nil {
		return fmt.Errorf("modem: release: %w", err)
	}
	defer m.release()
	if m.closed {
		return ErrClosed
	}
	m.released = true
	m.closeConn()
	m.o.log.Info("modem: port lent to the dialer", "port", m.path)
	return nil
}

// Reacquire takes the port back from the dialer and opens it now (a
// fresh open's ATZ and settings undo whatever the dialer left on the
// line). When the modem does not answer, the recovery ladder takes over
// as for any other trouble and the error is returned.
func (m *Modem) Reacquire(ctx context.Context) error {
	if err := m.acquireWait(ctx); err != nil {
		return fmt.Errorf("modem: reacquire: %w", err)
	}
	m.released = false
	m.release()
	err := m.do(ctx, func(*atConn) error { return nil })
	if err != nil {
		return fmt.Errorf("modem: re-open after the dialer: %w", err)
	}
	m.o.log.Info("modem: port taken back from the dialer", "port", m.path)
	return nil
}

// Arrivals is signalled when texts may be waiting in storage: a +CMTI
// came (only WithIndications(true)), or the modem answers again after a
// recovery. One signal may stand for several; list Messages to see. It
// is closed by Close.
func (m *Modem) Arrivals() <-chan struct{} { return m.arrivals }

func (m *Modem) arrived() {
	m.arrivalMu.Lock()
	defer m.arrivalMu.Unlock()
	if m.arrivalsClosed {
		return
	}
	select {
	case m.arrivals <- struct{}{}:
	default: // one pending signal is enough: the reader lists everything
	}
}

// acquire takes the turn on the port, or fails at once while a recovery
// holds it.
func (m *Modem) acquire(ctx context.Context) error {
	if m.recovering.Load() {
		return m.recoveringError()
	}
	return m.acquireWait(ctx)
}

// acquireWait takes the turn on the port, waiting for a recovery too.
func (m *Modem) acquireWait(ctx context.Context) error {
	select {
	case m.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Modem) release() { <-m.turn }

func (m *Modem) recoveringError() error {
	r := m.stats.get().Recovery
	if r.Step == "" {
		return fmt.Errorf("modem: %s: %w", m.path, ErrRecovering)
	}
	return fmt.Errorf("modem: %s: %w (step %s since %s)", m.path, ErrRecovering, r.Step, r.Since.Format(time.TimeOnly))
}

// do runs op with the port open, opening it first when needed. A sign that
// the modem is gone or hung (no answer at all, the port gone, the port not
// opening) starts the recovery ladder in the background on a Modem made by
// New; the ladder then holds the turn and op's error is returned.
func (m *Modem) do(ctx context.Context, op func(*atConn) error) error {
	if err := m.acquire(ctx); err != nil {
		return err
	}
	handedOff := false
	defer func() {
		if !handedOff {
			m.release()
		}
	}()
	switch {
	case m.closed:
		return ErrClosed
	case m.released:
		return ErrReleased
	}
	var err error
	if m.conn == nil {
		err = m.open(ctx)
	}
	if err == nil {
		err = op(m.conn)
	}
	if err != nil && m.heal && ctx.Err() == nil && isTrouble(err) {
		handedOff = true
		m.startLadder(err)
	}
	return err
}

// isTrouble reports whether err means the modem itself is gone or hung,
// not that it refused or was slow with one command.
func isTrouble(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return te.Silent
	}
	return errors.Is(err, ErrPortClosed) || errors.Is(err, errOpen)
}

// open opens the port and initialises the modem. Callers hold the turn.
func (m *Modem) open(ctx context.Context) error {
	rwc, err := m.o.openPort(m.path, m.o.baud)
	if err != nil {
		return m.note(fmt.Errorf("modem: %w: %w", errOpen, err))
	}
	m.urc.opened()
	m.cache = cache{settingsAt: m.o.now()}
	m.conn = newConn(rwc, m)
	if err := m.initialise(ctx); err != nil {
		m.closeConn()
		return err
	}
	return nil
}

// newConn starts the AT engine on an open port.
func newConn(rwc io.ReadWriteCloser, m *Modem) *atConn {
	w := newWire(rwc, m.o.now, m.stats.answered)
	w.onLine = m.urc.heard
	a := at.New(w, at.WithTimeout(m.o.cmdTimeout))
	m.stats.set(func(s *Stats) { s.Open = true })
	return &atConn{w: w, at: a}
}

// closeConn closes the port and waits for the AT engine to wind down.
// Callers hold the turn.
func (m *Modem) closeConn() {
	c := m.conn
	if c == nil {
		return
	}
	m.conn = nil
	c.w.Close()
	select {
	case <-c.at.Closed():
	case <-time.After(10 * time.Second):
		m.o.log.Warn("modem: reader did not stop after close", "port", m.path)
	}
	m.stats.set(func(s *Stats) { s.Open = false })
}

// initialise puts the modem into the state every other method relies on.
// ATZ resets +CPMS and +CNMI, so everything after it is asserted again.
func (m *Modem) initialise(ctx context.Context) error {
	c := m.conn
	// Leave a half-finished +CMGS ("> " prompt) behind.
	c.at.Escape()
	// A modem that has just been reset, or a line that was just re-opened,
	// can drop the first command: ask twice before calling it dead.
	var err error
	for try := 0; try < 2; try++ {
		if _, err = m.command(ctx, "Z", m.o.cmdTimeout); !errors.Is(err, ErrTimeout) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("modem: init: %w", err)
	}
	for _, cmd := range []string{"E0", "+CMEE=2", "+CMGF=0"} {
		if _, err := m.command(ctx, cmd, m.o.cmdTimeout); err != nil {
			return fmt.Errorf("modem: init: %w", err)
		}
	}
	// Registration changes sent unprompted spare a +CREG? on every poll.
	for _, cmd := range []string{"+CREG=2", "+CREG=1"} {
		_, err := m.command(ctx, cmd, m.o.cmdTimeout)
		if err == nil {
			m.urc.reportsRegistration()
			break
		}
		var ae *ATError
		if !errors.As(err, &ae) {
			return fmt.Errorf("modem: init: %w", err)
		}
	}
	if err := m.unlockSIM(ctx); err != nil {
		return err
	}
	if m.sim.state != SIMReady {
		m.o.log.Warn("modem: SIM not ready; SMS unavailable", "port", m.path, "sim", m.sim.state, "reason", m.sim.reason)
		return nil
	}
	// The SIM may still be loading right after the PIN or a reset.
	for try := 0; try < 5; try++ {
		if _, err = m.command(ctx, `+CPMS="SM","SM","SM"`, m.o.cmdTimeout); err == nil || !isSIMBusy(err) {
			break
		}
		if serr := sleep(ctx, time.Duration(try+1)*500*time.Millisecond); serr != nil {
			return serr
		}
	}
	if err != nil {
		return fmt.Errorf("modem: init: %w", err)
	}
	if m.o.indications {
		m.enableIndications(ctx)
	}
	return nil
}

// enableIndications asks for "+CMTI" on every stored message. Modems
// disagree on which <mode>/<bfr> they take (warthog618/modem PR#8), so
// fall back; without any, the poll still finds every message.
func (m *Modem) enableIndications(ctx context.Context) {
	for _, c := range []string{"+CNMI=2,1,0,0,0", "+CNMI=2,1,0,0,1", "+CNMI=1,1,0,0,0", "+CNMI=2,1"} {
		_, err := m.command(ctx, c, m.o.cmdTimeout)
		if err == nil {
			return
		}
		var ae *ATError
		if !errors.As(err, &ae) {
			m.o.log.Warn("modem: new-message indications", "err", err)
			return
		}
	}
	m.o.log.Warn("modem: no +CNMI setting accepted; new messages are found by polling only", "port", m.path)
}

// parseCMTI parses `+CMTI: "SM",3`.
func parseCMTI(line string) (int, bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "+CMTI:") {
		return 0, false
	}
	f := splitCSV(strings.TrimSpace(line[len("+CMTI:"):]))
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// command runs one AT command (without "AT"), resynchronising first when
// an earlier command was abandoned. Callers hold the turn.
func (m *Modem) command(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	return m.exchange(ctx, cmd, timeout, func(c *atConn, d time.Duration) ([]string, error) {
		return c.at.Command(cmd, at.WithTimeout(d))
	})
}

// smsCommand runs a two-step command (+CMGS: command, "> ", PDU, Ctrl-Z).
func (m *Modem) smsCommand(ctx context.Context, cmd, pdu string, timeout time.Duration) ([]string, error) {
	return m.exchange(ctx, cmd, timeout, func(c *atConn, d time.Duration) ([]string, error) {
		return c.at.SMSCommand(cmd, pdu, at.WithTimeout(d))
	})
}

func (m *Modem) exchange(ctx context.Context, cmd string, timeout time.Duration,
	do func(*atConn, time.Duration) ([]string, error)) ([]string, error) {
	c := m.conn
	if c == nil {
		return nil, m.note(fmt.Errorf("modem: %s: %w", m.path, ErrPortClosed))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.resync(ctx, c); err != nil {
		return nil, err
	}
	d := bound(ctx, timeout)
	sent := m.o.now()
	info, err := do(c, d)
	cmd = shown(cmd) // errors name the command, never a PIN or PUK
	switch {
	case err == nil:
		return info, nil
	case errors.Is(err, at.ErrDeadlineExceeded):
		c.w.abandon()
		silent := !c.w.heardSince(sent)
		m.stats.timedOut(silent, m.o.now())
		if ctx.Err() != nil {
			return nil, m.note(fmt.Errorf("modem: AT%s: %w", cmd, ctx.Err()))
		}
		return nil, m.note(fmt.Errorf("modem: AT%s: %w", cmd, &TimeoutError{After: d, Silent: silent}))
	case errors.Is(err, at.ErrClosed):
		return nil, m.note(fmt.Errorf("modem: AT%s: %s: %w (modem unplugged or re-enumerated)", cmd, m.path, ErrPortClosed))
	}
	aerr := atError(cmd, err)
	var ae *ATError
	if !errors.As(aerr, &ae) {
		// A write or read failure: the port is gone or going.
		return nil, m.note(fmt.Errorf("modem: AT%s: %s: %w: %v (modem unplugged or re-enumerated)", cmd, m.path, ErrPortClosed, err))
	}
	return info, m.note(fmt.Errorf("modem: %w", aerr))
}

// shown is cmd as errors and logs may show it: a PIN or PUK (the
// arguments of +CPIN and +CPWD/+CLCK) is masked.
func shown(cmd string) string {
	up := strings.ToUpper(cmd)
	for _, c := range []string{"+CPIN=", "+CPWD=", "+CLCK="} {
		if strings.HasPrefix(up, c) {
			return cmd[:len(c)] + "<redacted>"
		}
	}
	return cmd
}

// resync makes sure no answer to an abandoned command is still on its
// way before a new command is written (the wire drops it when it comes).
func (m *Modem) resync(ctx context.Context, c *atConn) error {
	if c.w.idle() {
		return nil
	}
	m.stats.set(func(st *Stats) { st.Recovery.Resyncs++ })
	if c.w.waitIdle(bound(ctx, m.o.resyncWait)) {
		return nil
	}
	select {
	case <-c.at.Closed():
		return m.note(fmt.Errorf("modem: %s: %w", m.path, ErrPortClosed))
	default:
	}
	// The modem dropped the command: it will never answer. Start afresh
	// and check it answers now.
	c.w.forget()
	m.stats.set(func(st *Stats) { st.Recovery.ResyncFailures++ })
	d := bound(ctx, m.o.cmdTimeout)
	sent := m.o.now()
	if _, err := c.at.Command("", at.WithTimeout(d)); err != nil {
		silent := true
		if errors.Is(err, at.ErrDeadlineExceeded) {
			c.w.abandon()
			silent = !c.w.heardSince(sent)
			m.stats.timedOut(silent, m.o.now())
		}
		return m.note(fmt.Errorf("modem: out of step and not answering AT: %w", &TimeoutError{After: d, Silent: silent}))
	}
	return nil
}

// bound returns d, or less when ctx ends sooner.
func bound(ctx context.Context, d time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if r := time.Until(dl); r < d {
			if r < time.Millisecond {
				r = time.Millisecond
			}
			return r
		}
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Ping checks that the modem answers "AT".
func (m *Modem) Ping(ctx context.Context) error {
	return m.do(ctx, func(*atConn) error {
		_, err := m.command(ctx, "", m.o.cmdTimeout)
		return err
	})
}

// retry runs a read-only query once more after a timeout or a garbled
// answer: the resync in between makes the second try trustworthy.
func (m *Modem) retry(ctx context.Context, f func() error) error {
	err := f()
	if err != nil && (errors.Is(err, ErrTimeout) || errors.Is(err, ErrGarbled)) && ctx.Err() == nil {
		err = f()
	}
	return err
}

func isSIMBusy(err error) bool {
	var ae *ATError
	return errors.As(err, &ae) && (ae.Kind == "CME" && ae.Code == 14 || ae.Kind == "CMS" && ae.Code == 314 ||
		ae.Code < 0 && strings.Contains(strings.ToLower(ae.Meaning), "busy"))
}

// note records err as the last error and returns it.
func (m *Modem) note(err error) error {
	if err != nil {
		t := m.o.now()
		m.stats.set(func(s *Stats) { s.LastError, s.LastErrorTime = err.Error(), t })
	}
	return err
}
