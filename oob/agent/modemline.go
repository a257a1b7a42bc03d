package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oobd/oobd/modem"
)

// errReleased is returned while the link holds a single-port modem.
var errReleased = errors.New("modem: the link holds the port for the session")

// modemLine is the agent's hold on the modem across everything that can
// happen to it in months of running: not there at start-up (it is opened
// on first use), gone silent (the recovery ladder runs), or lent to the
// dialer for a session on a single-port modem. Its indications channel
// outlives every re-open, so the inbox is wired once.
type modemLine struct {
	port string
	opts []modem.Option
	log  *slog.Logger
	ind  chan int // +CMTI slots of whichever modem is open
	// recovery is modem.recovery_command: run when the modem cannot even
	// be opened, time after time (a USB modem hung since boot never gets
	// as far as the modem's own recovery ladder).
	recovery []string
	run      func(ctx context.Context, argv []string) error

	mu           sync.Mutex // guards the fields below
	m            *modem.Modem
	released     bool
	openFailures int            // in a row
	powerCycles  int            // recovery runs for a modem that would not open
	fwd          sync.WaitGroup // the goroutine forwarding m's indications

	lastStats atomic.Pointer[modem.Stats]
}

// Recovery runs for a modem that does not open: at the 3rd failed open in
// a row, then at every 10th.
const (
	openFailuresFirstRecovery = 3
	openFailuresEveryRecovery = 10
)

func newModemLine(port string, log *slog.Logger, recovery []string, opts ...modem.Option) *modemLine {
	return &modemLine{port: port, opts: opts, log: log, ind: make(chan int, 16), recovery: recovery, run: runRecovery}
}

// runRecovery runs the recovery command, bounded.
func runRecovery(ctx context.Context, argv []string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", argv[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Indications delivers the storage slot of every new message.
func (l *modemLine) Indications() <-chan int { return l.ind }

// get returns the open modem, opening it when needed.
func (l *modemLine) get(ctx context.Context) (*modem.Modem, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil, errReleased
	}
	if l.m != nil {
		return l.m, nil
	}
	m, err := modem.Open(ctx, l.port, l.opts...)
	if err != nil {
		l.openFailures++
		n := l.openFailures
		l.log.Warn("modem not answering: it does not open", "port", l.port, "failures_in_a_row", n, "err", err)
		if len(l.recovery) > 0 && (n == openFailuresFirstRecovery || n%openFailuresEveryRecovery == 0) {
			l.log.Warn("modem will not open; running the recovery command", "port", l.port, "failures", n, "err", err)
			l.powerCycles++
			if rerr := l.run(ctx, l.recovery); rerr != nil {
				l.log.Error("modem recovery command failed", "err", rerr)
			}
		}
		return nil, err
	}
	l.openFailures = 0
	l.m = m
	l.fwd.Add(1)
	go func() {
		defer l.fwd.Done()
		for i := range m.Indications() {
			select {
			case l.ind <- i:
			default: // the inbox reads everything anyway; one kick is enough
			}
		}
	}()
	l.log.Info("modem open", "port", l.port)
	return m, nil
}

// closeLocked closes the modem, if open. Called with mu held.
func (l *modemLine) closeLocked() {
	if l.m != nil {
		l.m.Close()
		l.fwd.Wait()
		l.m = nil
	}
}

// failed is told of an operation's error: a modem that no longer answers
// AT is taken through the recovery ladder now, so the next poll finds it
// working (or the ladder's error explains why not).
func (l *modemLine) failed(ctx context.Context, m *modem.Modem, err error) error {
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return err
	}
	if perr := m.Ping(ctx); perr == nil {
		return err // the modem answers; the operation itself failed
	}
	l.log.Warn("modem not answering; recovering", "err", err)
	if rerr := m.Recover(ctx); rerr != nil {
		return fmt.Errorf("%w (recovery failed: %v)", err, rerr)
	}
	l.log.Info("modem recovered")
	return err
}

func (l *modemLine) Messages(ctx context.Context) ([]modem.Message, error) {
	m, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	msgs, err := m.Messages(ctx)
	if err != nil {
		return msgs, l.failed(ctx, m, err)
	}
	return msgs, nil
}

func (l *modemLine) Delete(ctx context.Context, index int) error {
	m, err := l.get(ctx)
	if err != nil {
		return err
	}
	if err := m.Delete(ctx, index); err != nil {
		return l.failed(ctx, m, err)
	}
	return nil
}

func (l *modemLine) Send(ctx context.Context, number, text string) error {
	m, err := l.get(ctx)
	if err != nil {
		return err
	}
	if err := m.Send(ctx, number, text); err != nil {
		return l.failed(ctx, m, err)
	}
	return nil
}

func (l *modemLine) Info(ctx context.Context) (modem.Info, error) {
	m, err := l.get(ctx)
	if err != nil {
		return modem.Info{}, err
	}
	info, err := m.Info(ctx)
	if err != nil {
		return info, l.failed(ctx, m, err)
	}
	return info, nil
}

// Stats are the open modem's counters, with the recovery runs for a modem
// that would not open. It never waits: while an open or a recovery holds
// the line, it returns the last counters it read.
func (l *modemLine) Stats() modem.Stats {
	if !l.mu.TryLock() {
		if p := l.lastStats.Load(); p != nil {
			return *p
		}
		return modem.Stats{}
	}
	defer l.mu.Unlock()
	var st modem.Stats
	if l.m != nil {
		st = l.m.Stats()
	}
	st.PowerCycles += l.powerCycles
	l.lastStats.Store(&st)
	return st
}

// release closes the port for the dialer; nothing opens it until reacquire.
func (l *modemLine) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	l.closeLocked()
}

// reacquire lets the modem be opened again, and opens it now (the ATZ and
// settings of a fresh open undo whatever the dialer left on the line).
func (l *modemLine) reacquire(ctx context.Context) error {
	l.mu.Lock()
	l.released = false
	l.mu.Unlock()
	_, err := l.get(ctx)
	return err
}

// Close closes the modem for good.
func (l *modemLine) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	l.closeLocked()
}
