package modem

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobd/oobd/modem/modemsim"
)

// A Modem made by New: opened on demand, healed in the background,
// lent to the dialer and taken back, remembering across all of it.

// memory is a Memory in a test's hands.
type memory struct {
	mu sync.Mutex
	r  Remembered
	n  int // Remember calls
}

func (m *memory) Recall() Remembered {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.r
}

func (m *memory) Remember(r Remembered) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.r = r
	m.n++
	return nil
}

func newHealing(t *testing.T, s *modemsim.Simulator, opts ...Option) *Modem {
	t.Helper()
	opts = append([]Option{WithCommandTimeout(300 * time.Millisecond), fast,
		func(o *options) { o.resyncWait = 300 * time.Millisecond }}, opts...)
	m := New(s.Path(), opts...)
	t.Cleanup(func() { m.Close() })
	return m
}

// waitArrival waits for the signal a recovered modem gives.
func waitArrival(t *testing.T, m *Modem) {
	t.Helper()
	select {
	case <-m.Arrivals():
	case <-time.After(30 * time.Second):
		t.Fatalf("no arrival signal; stats %+v", m.Stats())
	}
}

func TestNewOpensOnFirstUse(t *testing.T) {
	s := newSimulator(t)
	m := newHealing(t, s)
	if got := s.Commands(); len(got) != 0 {
		t.Fatalf("New sent %v before any use", got)
	}
	in, err := m.Info(testCtx(t))
	if err != nil || in.IMEI != modemsim.DefaultIdentity.IMEI {
		t.Fatalf("Info: %+v, %v", in, err)
	}
	if st := m.Stats(); !st.Answering || !st.Open {
		t.Errorf("stats after first use: %+v", st)
	}
}

func TestHungModemReadsNotAnsweringAtOnceAndHeals(t *testing.T) {
	s := newSimulator(t)
	var cycles atomic.Int32
	m := newHealing(t, s, WithRecoveryCommand([]string{"power-cycle"}), func(o *options) {
		o.runCmd = func(ctx context.Context, argv []string) error {
			cycles.Add(1)
			s.SetSilent(false)
			s.Reset()
			return nil
		}
	})
	ctx := testCtx(t)
	if err := m.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetSilent(true)
	err := m.Ping(ctx)
	var te *TimeoutError
	if !errors.As(err, &te) || !te.Silent {
		t.Fatalf("Ping of a silent modem: %v, want a silent timeout", err)
	}
	// Not answering from the first silent command, not after the ladder.
	if st := m.Stats(); st.Answering {
		t.Errorf("stats right after the timeout: %+v, want not answering", st)
	}
	if _, err := m.Messages(ctx); !errors.Is(err, ErrRecovering) {
		t.Errorf("Messages while the ladder runs: %v, want ErrRecovering at once", err)
	}
	waitArrival(t, m)
	st := m.Stats()
	if !st.Answering || st.Recovery.Step != "" || cycles.Load() != 1 ||
		st.Recovery.Reopens != 1 || st.Recovery.Resets != 1 || st.Recovery.PowerCycles != 1 {
		t.Errorf("after the ladder: stats %+v, %d power cycles; want answering, every rung once", st, cycles.Load())
	}
	if err := m.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery: %v", err)
	}
}

func TestSlowAnswerIsNotASignOfAHungModem(t *testing.T) {
	s := newSimulator(t)
	m := newHealing(t, s)
	ctx := testCtx(t)
	if err := m.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// The modem talks but does not finish in time (a long listing still
	// coming in): a timeout, not a hung modem.
	s.SetSilent(true)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				s.InjectGarbage([]byte("0791644750\r\n"))
			case <-stop:
				return
			}
		}
	}()
	err := m.Ping(ctx)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Silent {
		t.Fatalf("Ping of a talking but unfinished modem: %v, want a timeout that is not silent", err)
	}
	if st := m.Stats(); !st.Answering || st.Recovery.Reopens != 0 {
		t.Errorf("stats %+v: want still answering, no ladder", st)
	}
}

func TestModemNotThereIsWaitedForThenPowerCycled(t *testing.T) {
	var runs atomic.Int32
	m := New(t.TempDir()+"/ttyUSB9", WithRecoveryCommand([]string{"uhubctl"}), fast, func(o *options) {
		o.runCmd = func(context.Context, []string) error { runs.Add(1); return nil }
		o.comeBack = 200 * time.Millisecond
	})
	defer m.Close()
	ctx := testCtx(t)
	// One ladder for every use that finds it gone; the power cycle on the
	// first of a streak, then every tenth.
	for i := 1; i <= 11; i++ {
		if err := m.Ping(ctx); err == nil || errors.Is(err, ErrRecovering) {
			t.Fatalf("use %d: %v, want the open error", i, err)
		}
		if err := m.Ping(ctx); !errors.Is(err, ErrRecovering) {
			t.Fatalf("use %d while recovering: %v", i, err)
		}
		// The ladder holds the turn until it gives up.
		if err := m.acquireWait(ctx); err != nil {
			t.Fatal(err)
		}
		m.release()
		want := int32(1)
		if i >= 10 {
			want = 2
		}
		if runs.Load() != want {
			t.Fatalf("after %d ladders: %d power cycles, want %d", i, runs.Load(), want)
		}
	}
}

func TestReleaseAndReacquireKeepCounters(t *testing.T) {
	s := newSimulator(t)
	mem := &memory{}
	m := newHealing(t, s, WithMemory(mem))
	ctx := testCtx(t)
	if err := m.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// A hang, counted, and healed.
	s.SetSilent(true)
	m.Ping(ctx)
	s.SetSilent(false)
	waitArrival(t, m)
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Ping(ctx); !errors.Is(err, ErrReleased) {
		t.Errorf("Ping while released: %v", err)
	}
	if n := len(s.Commands()); n == 0 {
		t.Fatal("no commands seen")
	}
	before := len(s.Commands())
	if err := m.Reacquire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Commands()[before:]; !slices.Contains(got, "ATZ") {
		t.Errorf("Reacquire sent %v, want a fresh initialisation (ATZ)", got)
	}
	st := m.Stats().Recovery
	if st.Timeouts < 1 || st.Reopens != 1 || mem.Recall().Recovery != st {
		t.Errorf("after the hand-over: %+v, remembered %+v; want the hang counted and kept", st, mem.Recall().Recovery)
	}
	// A new Modem (a restart) starts from what was remembered.
	m2 := newHealing(t, s, WithMemory(mem))
	if got := m2.Stats().Recovery; got != st {
		t.Errorf("a new Modem's counters: %+v, want the remembered %+v", got, st)
	}
}

// A SIM whose PIN the modem cannot count (no ^CPIN, no +CPINR) and a
// wrong PIN in the file: over restarts, resets and hand-overs, the PIN is
// sent once, never again.
func TestWrongPINIsSentOnceAcrossRestartsAndHandOvers(t *testing.T) {
	s := newSimulator(t, modemsim.WithPIN("1234"), modemsim.WithoutCommands("^CPIN", "+CPINR"))
	mem := &memory{}
	file := pinFile(t, "9999")
	ctx := testCtx(t)
	for run := 0; run < 5; run++ {
		// Short bounds: after each reset the modem drops the first command.
		m := New(s.Path(), WithPINFile(file), WithMemory(mem), WithCommandTimeout(500*time.Millisecond), fast,
			func(o *options) { o.resyncWait = 300 * time.Millisecond })
		for session := 0; session < 5; session++ {
			in, err := m.Info(ctx)
			if err != nil {
				t.Fatalf("run %d: Info: %v", run, err)
			}
			if in.SIM != SIMPIN {
				t.Fatalf("run %d: SIM %s", run, in.SIM)
			}
			if err := m.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if err := m.Reacquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s.Reset()
		m.Close()
	}
	if sent := modemsim.Count(s.Commands(), "AT+CPIN="); sent != 1 {
		t.Errorf("AT+CPIN= sent %d times, want exactly 1", sent)
	}
	if st := s.Status(); st.SIM != "SIM PIN" || st.PINLeft != 2 {
		t.Errorf("SIM %s with %d tries left, want SIM PIN with 2", st.SIM, st.PINLeft)
	}
	if mem.Recall().RejectedPIN == "" || strings.Contains(mem.Recall().RejectedPIN, "9999") {
		t.Errorf("remembered %q: want a digest, never the PIN", mem.Recall().RejectedPIN)
	}
	// The owner fixes the PIN file, but this modem cannot say how many
	// tries are left: still nothing is sent…
	m := New(s.Path(), WithPINFile(pinFile(t, "1234")), WithMemory(mem), WithCommandTimeout(2*time.Second), fast)
	defer m.Close()
	in, err := m.Info(ctx)
	if err != nil || in.SIM != SIMPIN || !strings.Contains(in.SIMReason, "by hand") {
		t.Fatalf("with a new PIN file and unknown tries: %+v, %v", in, err)
	}
	if n := modemsim.Count(s.Commands(), "AT+CPIN="); n != 1 {
		t.Errorf("AT+CPIN= sent %d times after the PIN file changed, want still 1", n)
	}
	// …until the owner enters the PIN by hand: the SIM is ready and the
	// memory is cleared.
	if err := m.do(ctx, func(*atConn) error {
		_, err := m.command(ctx, `+CPIN="1234"`, m.o.cmdTimeout)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if in, err := m.Info(ctx); err != nil || in.SIM != SIMReady {
		t.Fatalf("after the PIN by hand: %+v, %v", in, err)
	}
	if mem.Recall().RejectedPIN != "" {
		t.Error("a ready SIM did not clear the rejected PIN")
	}
}

// With a modem that counts tries, a changed PIN file gets its one try.
func TestChangedPINFileGetsOneTry(t *testing.T) {
	s := newSimulator(t, modemsim.WithPIN("1234"))
	mem := &memory{}
	ctx := testCtx(t)
	m := New(s.Path(), WithPINFile(pinFile(t, "9999")), WithMemory(mem), WithCommandTimeout(2*time.Second), fast)
	if in, err := m.Info(ctx); err != nil || in.SIM != SIMPIN || in.PINAttempts != 2 {
		t.Fatalf("wrong PIN: %+v, %v", in, err)
	}
	m.Close()
	m = New(s.Path(), WithPINFile(pinFile(t, "1234")), WithMemory(mem), WithCommandTimeout(2*time.Second), fast)
	defer m.Close()
	if in, err := m.Info(ctx); err != nil || in.SIM != SIMReady {
		t.Fatalf("right PIN: %+v, %v", in, err)
	}
	if n := modemsim.Count(s.Commands(), "AT+CPIN="); n != 2 {
		t.Errorf("AT+CPIN= sent %d times, want 2 (one per PIN file)", n)
	}
}
