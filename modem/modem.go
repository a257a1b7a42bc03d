package modem

import (
	"context"
	"errors"
	"fmt"
	"github.com/oobd/oobd/internal/gsmtables"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/modem/at"
)

// Modem is the AT conversation with one modem. Its methods may be called from
// several goroutines; they run one at a time.
type Modem struct {
	port string
	o    options

	mu     sync.Mutex // one operation at a time; guards the fields below
	s      *atConn    // nil while the port is not open
	closed bool
	sim    simState
	refs   refCounter // concatenation references of sent messages

	indMu     sync.Mutex
	indClosed bool
	ind       chan int

	stats statsBox
}

// atConn is one open port and the AT engine reading it.
type atConn struct {
	w  *wire
	at *at.AT
}

// Open opens the modem's AT port and initialises it: echo off, verbose
// errors, PDU mode, SIM storage, indications when asked, the SIM PIN when
// the SIM wants it and a PIN file is set. A SIM that stays locked does not
// fail Open: Info reports it, and the message operations return
// ErrSIMNotReady.
func Open(ctx context.Context, port string, opts ...Option) (*Modem, error) {
	gsmtables.Ready() // the SMS library's tables, before goroutines share them
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	m := &Modem{port: port, o: o, ind: make(chan int, 16)}
	m.refs.seed(o.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(ctx); err != nil {
		m.stop()
		return nil, err
	}
	if stable := stableName(port); stable != "" {
		m.o.log.Info("modem: the port has a stable name that survives re-enumeration; prefer it in the config",
			"port", port, "stable", stable)
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

// Close closes the port. It is idempotent, waits for the reader
// goroutines, and closes the Indications channel.
func (m *Modem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.stop()
	m.indMu.Lock()
	m.indClosed = true
	close(m.ind)
	m.indMu.Unlock()
	return nil
}

// start opens the port and initialises the modem. Callers hold m.mu.
func (m *Modem) start(ctx context.Context) error {
	rwc, err := m.o.openPort(m.port, m.o.baud)
	if err != nil {
		return fmt.Errorf("modem: %w", err)
	}
	w := newWire(rwc, m.o.now, func(t time.Time) { m.stats.set(func(s *Stats) { s.LastAnswer = t }) })
	a := at.New(w, at.WithTimeout(m.o.cmdTimeout),
		at.WithIndication("+CMTI:", m.onCMTI))
	m.s = &atConn{w: w, at: a}
	m.stats.set(func(s *Stats) { s.Open = true })
	return m.initialise(ctx)
}

// stop closes the port and waits for the AT engine to wind down.
func (m *Modem) stop() {
	s := m.s
	if s == nil {
		return
	}
	m.s = nil
	s.w.Close()
	select {
	case <-s.at.Closed():
	case <-time.After(10 * time.Second):
		m.o.log.Warn("modem: reader did not stop after close", "port", m.port)
	}
	m.stats.set(func(s *Stats) { s.Open = false })
}

// initialise puts the modem into the state every other method relies on.
// ATZ resets +CPMS and +CNMI, so everything after it is asserted again.
func (m *Modem) initialise(ctx context.Context) error {
	s := m.s
	// Leave a half-finished +CMGS ("> " prompt) behind.
	s.at.Escape()
	for _, c := range []string{"Z", "E0", "+CMEE=2", "+CMGF=0"} {
		if _, err := m.command(ctx, c, m.o.cmdTimeout); err != nil {
			return fmt.Errorf("modem: init: %w", err)
		}
	}
	if err := m.unlockSIM(ctx); err != nil {
		return err
	}
	if m.sim.state != SIMReady {
		m.o.log.Warn("modem: SIM not ready; SMS unavailable", "port", m.port, "sim", m.sim.state, "reason", m.sim.reason)
		return nil
	}
	// The SIM may still be loading right after the PIN or a reset.
	var err error
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
	m.o.log.Warn("modem: no +CNMI setting accepted; new messages are found by polling only", "port", m.port)
}

func (m *Modem) onCMTI(lines []string) {
	if len(lines) == 0 {
		return
	}
	idx, ok := parseCMTI(lines[0])
	if !ok {
		return
	}
	m.indMu.Lock()
	defer m.indMu.Unlock()
	if m.indClosed {
		return
	}
	select {
	case m.ind <- idx:
	default:
		// Full: the reader of the channel is behind and will list storage
		// anyway. Never block the AT reader.
		m.stats.set(func(s *Stats) { s.IndicationsDropped++ })
	}
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

// Indications delivers the storage index of every "+CMTI" the modem
// sends (only WithIndications(true)). When the channel is full further
// indexes are dropped: list Messages to catch up. It is closed by Close.
func (m *Modem) Indications() <-chan int { return m.ind }

// command runs one AT command (without "AT"), resynchronising first when
// an earlier command was abandoned. Callers hold m.mu.
func (m *Modem) command(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	return m.exchange(ctx, cmd, timeout, func(s *atConn, d time.Duration) ([]string, error) {
		return s.at.Command(cmd, at.WithTimeout(d))
	})
}

// smsCommand runs a two-step command (+CMGS: command, "> ", PDU, Ctrl-Z).
func (m *Modem) smsCommand(ctx context.Context, cmd, pdu string, timeout time.Duration) ([]string, error) {
	return m.exchange(ctx, cmd, timeout, func(s *atConn, d time.Duration) ([]string, error) {
		return s.at.SMSCommand(cmd, pdu, at.WithTimeout(d))
	})
}

func (m *Modem) exchange(ctx context.Context, cmd string, timeout time.Duration,
	do func(*atConn, time.Duration) ([]string, error)) ([]string, error) {
	if m.closed {
		return nil, ErrClosed
	}
	s := m.s
	if s == nil {
		return nil, m.note(fmt.Errorf("modem: %s: %w (Recover re-opens it)", m.port, ErrPortClosed))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.resync(ctx, s); err != nil {
		return nil, err
	}
	d := bound(ctx, timeout)
	info, err := do(s, d)
	cmd = shown(cmd) // errors name the command, never a PIN or PUK
	switch {
	case err == nil:
		return info, nil
	case errors.Is(err, at.ErrDeadlineExceeded):
		s.w.abandon()
		m.stats.set(func(st *Stats) { st.Timeouts++ })
		if ctx.Err() != nil {
			return nil, m.note(fmt.Errorf("modem: AT%s: %w", cmd, ctx.Err()))
		}
		return nil, m.note(fmt.Errorf("modem: AT%s: %w after %s", cmd, ErrTimeout, d))
	case errors.Is(err, at.ErrClosed):
		return nil, m.note(fmt.Errorf("modem: AT%s: %s: %w (modem unplugged or re-enumerated; Recover re-opens it)", cmd, m.port, ErrPortClosed))
	}
	aerr := atError(cmd, err)
	var ae *ATError
	if !errors.As(aerr, &ae) {
		// A write or read failure: the port is gone or going.
		return nil, m.note(fmt.Errorf("modem: AT%s: %s: %w: %v (modem unplugged or re-enumerated; Recover re-opens it)", cmd, m.port, ErrPortClosed, err))
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
func (m *Modem) resync(ctx context.Context, s *atConn) error {
	if s.w.idle() {
		return nil
	}
	m.stats.set(func(st *Stats) { st.Resyncs++ })
	if s.w.waitIdle(bound(ctx, m.o.resyncWait)) {
		return nil
	}
	select {
	case <-s.at.Closed():
		return m.note(fmt.Errorf("modem: %s: %w (Recover re-opens it)", m.port, ErrPortClosed))
	default:
	}
	// The modem dropped the command: it will never answer. Start afresh
	// and check it answers now.
	s.w.forget()
	m.stats.set(func(st *Stats) { st.ResyncFailures++ })
	d := bound(ctx, m.o.cmdTimeout)
	if _, err := s.at.Command("", at.WithTimeout(d)); err != nil {
		if errors.Is(err, at.ErrDeadlineExceeded) {
			s.w.abandon()
			m.stats.set(func(st *Stats) { st.Timeouts++ })
		}
		return m.note(fmt.Errorf("modem: out of step and not answering AT: %w", ErrTimeout))
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
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.command(ctx, "", m.o.cmdTimeout)
	return err
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
