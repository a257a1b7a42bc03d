package inbox_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/trigger"
)

// ladderHold is a modem.Memory that holds the recovery ladder on the rung
// it waits for: the modem writes the ladder's step through its memory from
// the ladder itself, so the ladder stays on that rung until let go.
type ladderHold struct {
	step string
	at   chan struct{} // closed when the ladder reached step
	cont chan struct{} // closed to let it go on

	mu   sync.Mutex
	r    modem.Remembered
	held bool
}

func (l *ladderHold) Recall() modem.Remembered {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r
}

func (l *ladderHold) Remember(r modem.Remembered) error {
	l.mu.Lock()
	l.r = r
	hold := r.Recovery.Step == l.step && !l.held
	l.held = l.held || hold
	l.mu.Unlock()
	if hold {
		close(l.at)
		<-l.cont
	}
	return nil
}

// While the modem's recovery ladder runs, a poll does not wait for it nor
// touch the port: it records "recovering: STEP" (and the modem not OK) in
// the state and leaves the last poll's time alone. Once the modem answers
// again, the next poll reads it OK, the error gone.
func TestPollWhileRecovering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := modemsim.New(modemsim.WithBootQuiet(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	hold := &ladderHold{step: modem.StepReopen, at: make(chan struct{}), cont: make(chan struct{})}
	// A short command timeout: a hung modem is told in 300ms.
	m := modem.New(sim.Path(), modem.WithCommandTimeout(300*time.Millisecond), modem.WithMemory(hold))
	t.Cleanup(func() { m.Close() })
	var letGo sync.Once
	release := func() { letGo.Do(func() { close(hold.cont) }) }
	t.Cleanup(release) // before m.Close, which waits for the ladder
	_, store, alog, trig := ownerParts(t)
	var (
		clockMu sync.Mutex
		now     = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func() { clockMu.Lock(); now = now.Add(time.Minute); clockMu.Unlock() }
	p, err := inbox.New(m, trig, alog, store, &handler{got: make(chan trigger.Request, 8)},
		inbox.WithClock(clock), inbox.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	first := clock()
	if st := store.Snapshot(); !st.Modem.OK || st.Modem.LastError != "" || !st.LastPoll.Equal(first) {
		t.Fatalf("after a good poll: last poll %v, modem %+v", st.LastPoll, st.Modem)
	}

	// The modem hangs; the next use finds it out and starts the ladder.
	sim.SetSilent(true)
	var te *modem.TimeoutError
	if err := m.Ping(ctx); !errors.As(err, &te) || !te.Silent {
		t.Fatalf("Ping of a hung modem: %v, want a silent timeout", err)
	}
	select {
	case <-hold.at:
	case <-ctx.Done():
		t.Fatalf("the ladder never reached %q; stats %+v", hold.step, m.Stats())
	}

	advance()
	before := len(sim.Commands())
	if err := p.Poll(ctx); !errors.Is(err, modem.ErrRecovering) {
		t.Fatalf("Poll while recovering: %v, want ErrRecovering", err)
	}
	if got := sim.Commands()[before:]; len(got) != 0 {
		t.Errorf("a poll while recovering sent %v, want nothing", got)
	}
	st := store.Snapshot()
	if want := "recovering: " + modem.StepReopen; st.Modem.LastError != want || st.Modem.OK {
		t.Errorf("while recovering: modem ok %v, last error %q; want not ok, %q", st.Modem.OK, st.Modem.LastError, want)
	}
	if !st.LastPoll.Equal(first) {
		t.Errorf("last poll %v, want %v: the inbox was not read", st.LastPoll, first)
	}

	// The modem answers again; the ladder goes on and brings it back.
	sim.SetSilent(false)
	release()
	select {
	case <-m.Arrivals(): // a recovered modem says so
	case <-ctx.Done():
		t.Fatalf("the modem did not recover; stats %+v", m.Stats())
	}
	advance()
	if err := p.Poll(ctx); err != nil {
		t.Fatalf("Poll after recovery: %v", err)
	}
	st = store.Snapshot()
	if !st.Modem.OK || st.Modem.LastError != "" || !st.LastPoll.Equal(clock()) {
		t.Errorf("after recovery: last poll %v (want %v), modem ok %v, last error %q; want ok, no error",
			st.LastPoll, clock(), st.Modem.OK, st.Modem.LastError)
	}
	if s := m.Stats(); !s.Answering || s.Recovery.Step != "" || s.Recovery.Reopens != 1 {
		t.Errorf("modem stats after recovery: %+v, want answering, no step, one re-open", s)
	}
}
