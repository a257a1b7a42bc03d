package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// received is the value waiting on c, if any.
func received(c <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-c:
		return v, true
	default:
		return time.Time{}, false
	}
}

// safety bounds a test's waits on other goroutines; reaching it fails the
// test, it never paces it.
func safety(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFakeTimer(t *testing.T) {
	tests := []struct {
		name string
		// run acts on a timer armed for 10s on a Fake at start and
		// returns what the test then finds on its channel.
		run         func(f *Fake, tm Timer) (stopped bool)
		wantStopped bool
		wantFired   bool
		wantAt      time.Time // the value received, when it fired
		wantPending int
	}{
		{
			name:        "not before its time",
			run:         func(f *Fake, tm Timer) bool { f.Advance(10*time.Second - 1); return false },
			wantPending: 1,
		},
		{
			name:      "exactly at its time",
			run:       func(f *Fake, tm Timer) bool { f.Advance(10 * time.Second); return false },
			wantFired: true, wantAt: start.Add(10 * time.Second),
		},
		{
			name:      "at its own time when advanced past it",
			run:       func(f *Fake, tm Timer) bool { f.Advance(time.Hour); return false },
			wantFired: true, wantAt: start.Add(10 * time.Second),
		},
		{
			name:        "stopped before it fires",
			run:         func(f *Fake, tm Timer) bool { s := tm.Stop(); f.Advance(time.Hour); return s },
			wantStopped: true,
		},
		{
			name: "stopped after it fired, the value not received",
			run: func(f *Fake, tm Timer) bool {
				f.Advance(time.Hour)
				return tm.Stop()
			},
			wantStopped: true, // the unreceived value counts, and is gone
		},
		{
			name: "stopped after its value was received",
			run: func(f *Fake, tm Timer) bool {
				f.Advance(time.Hour)
				<-tm.C()
				return tm.Stop()
			},
		},
		{
			name: "reset later",
			run: func(f *Fake, tm Timer) bool {
				f.Advance(5 * time.Second)
				s := tm.Reset(20 * time.Second)
				f.Advance(20*time.Second - 1)
				return s
			},
			wantStopped: true, wantPending: 1,
		},
		{
			name: "reset after firing drops the old value",
			run: func(f *Fake, tm Timer) bool {
				f.Advance(10 * time.Second)
				s := tm.Reset(time.Second)
				f.Advance(time.Second)
				return s
			},
			wantStopped: true, wantFired: true, wantAt: start.Add(11 * time.Second),
		},
		{
			name:      "reset to zero fires at once",
			run:       func(f *Fake, tm Timer) bool { return tm.Reset(0) },
			wantFired: true, wantAt: start, wantStopped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(start)
			tm := f.NewTimer(10 * time.Second)
			if got := tt.run(f, tm); got != tt.wantStopped {
				t.Errorf("Stop/Reset = %v, want %v", got, tt.wantStopped)
			}
			v, fired := received(tm.C())
			if fired != tt.wantFired || (fired && !v.Equal(tt.wantAt)) {
				t.Errorf("fired %v at %v, want %v at %v", fired, v, tt.wantFired, tt.wantAt)
			}
			if got := f.Pending(); got != tt.wantPending {
				t.Errorf("Pending = %d, want %d", got, tt.wantPending)
			}
		})
	}
}

func TestFakeNonPositiveTimerFiresAtOnce(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		f := NewFake(start)
		tm := f.NewTimer(d)
		if v, ok := received(tm.C()); !ok || !v.Equal(start) {
			t.Errorf("NewTimer(%v): fired %v at %v, want at once", d, ok, v)
		}
		if f.Pending() != 0 {
			t.Errorf("NewTimer(%v): still armed", d)
		}
	}
}

func TestFakeAfterFunc(t *testing.T) {
	f := NewFake(start)
	var ran []time.Time // appended by the funcs, which run inside Advance
	record := func() { ran = append(ran, f.Now()) }
	tm := f.AfterFunc(10*time.Second, record)
	if tm.C() != nil {
		t.Error("an AfterFunc timer has a channel")
	}
	stopped := f.AfterFunc(5*time.Second, record)
	if !stopped.Stop() {
		t.Error("Stop of an armed AfterFunc = false")
	}
	f.Advance(10*time.Second - 1)
	if len(ran) != 0 {
		t.Fatalf("ran before its time: %v", ran)
	}
	f.Advance(time.Hour)
	if len(ran) != 1 || !ran[0].Equal(start.Add(10*time.Second)) {
		t.Fatalf("ran at %v, want once at 10s", ran)
	}
	if tm.Stop() || f.Pending() != 0 {
		t.Fatalf("after running: Stop = true or %d armed", f.Pending())
	}
	// Reset arms it again.
	at := f.Now().Add(time.Second)
	tm.Reset(time.Second)
	f.Advance(time.Second)
	if len(ran) != 2 || !ran[1].Equal(at) {
		t.Fatalf("after Reset ran at %v, want again at %v", ran, at)
	}

	// With no time to wait, f runs at once in a goroutine of its own.
	done := make(chan struct{})
	f.AfterFunc(0, func() { close(done) })
	select {
	case <-done:
	case <-safety(t).Done():
		t.Fatal("AfterFunc(0) never ran")
	}
}

func TestFakeFiresInTimeOrder(t *testing.T) {
	f := NewFake(start)
	late := f.NewTimer(5 * time.Second)
	early := f.NewTimer(3 * time.Second)
	tie := f.NewTimer(3 * time.Second)
	f.Advance(10 * time.Second)
	for _, c := range []struct {
		name string
		tm   Timer
		at   time.Duration
	}{{"early", early, 3 * time.Second}, {"tie", tie, 3 * time.Second}, {"late", late, 5 * time.Second}} {
		if v, ok := received(c.tm.C()); !ok || !v.Equal(start.Add(c.at)) {
			t.Errorf("%s: fired %v at %v, want at %v", c.name, ok, v, c.at)
		}
	}
	if !f.Now().Equal(start.Add(10 * time.Second)) {
		t.Errorf("Now = %v after the advance", f.Now())
	}
}

func TestFakeTicker(t *testing.T) {
	f := NewFake(start)
	tk := f.NewTicker(time.Second)
	f.Advance(time.Second - 1)
	if _, ok := received(tk.C()); ok {
		t.Fatal("ticked before its period")
	}
	f.Advance(1)
	if v, ok := received(tk.C()); !ok || !v.Equal(start.Add(time.Second)) {
		t.Fatalf("first tick %v at %v", ok, v)
	}
	// Ticks not received are dropped, as *time.Ticker drops them: the
	// channel keeps the first, and the period stays on its grid.
	f.Advance(3 * time.Second)
	if v, ok := received(tk.C()); !ok || !v.Equal(start.Add(2*time.Second)) {
		t.Fatalf("after three periods: %v at %v, want the tick at 2s", ok, v)
	}
	if _, ok := received(tk.C()); ok {
		t.Fatal("more than one tick kept")
	}
	f.Advance(time.Second)
	if v, ok := received(tk.C()); !ok || !v.Equal(start.Add(5*time.Second)) {
		t.Fatalf("tick on the grid: %v at %v, want at 5s", ok, v)
	}

	tk.Reset(10 * time.Second)
	f.Advance(9 * time.Second)
	if _, ok := received(tk.C()); ok {
		t.Fatal("ticked on the old period after Reset")
	}
	f.Advance(time.Second)
	if v, ok := received(tk.C()); !ok || !v.Equal(start.Add(15*time.Second)) {
		t.Fatalf("tick after Reset: %v at %v, want at 15s", ok, v)
	}

	f.Advance(10 * time.Second)
	tk.Stop()
	if _, ok := received(tk.C()); ok {
		t.Fatal("a tick sent before Stop is received after it")
	}
	f.Advance(time.Minute)
	if _, ok := received(tk.C()); ok || f.Pending() != 0 {
		t.Fatalf("stopped ticker ticked (%v) or is still armed (%d)", ok, f.Pending())
	}
}

func TestFakeTickerRejectsNonPositivePeriod(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewTicker(0) did not panic, as time.NewTicker does")
		}
	}()
	new(Fake).NewTicker(0)
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(start)
	ctx := safety(t)
	// The code under test arms a timer in its own goroutine, and says
	// when the timer fired.
	fired := make(chan time.Time)
	go func() {
		tm := f.NewTimer(time.Minute)
		fired <- <-tm.C()
	}()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	select {
	case v := <-fired:
		if !v.Equal(start.Add(time.Minute)) {
			t.Fatalf("fired at %v", v)
		}
	case <-ctx.Done():
		t.Fatal("the goroutine's timer never fired")
	}

	// Nobody arms a second timer: BlockUntil gives up with its context.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.BlockUntil(short, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntil with nothing armed = %v, want context.Canceled", err)
	}
}

func TestWithDeadlineOnFake(t *testing.T) {
	f := NewFake(start)
	ctx, cancel := WithTimeout(context.Background(), f, time.Minute)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a Fake's deadline is reported as a real one")
	}
	f.Advance(time.Minute - 1)
	if ctx.Err() != nil {
		t.Fatal("ended before its deadline")
	}
	f.Advance(1)
	// Ended by the time Advance returns: nothing to wait for.
	if ctx.Err() == nil {
		t.Fatal("not ended at its deadline")
	}
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Fatalf("cause = %v, want DeadlineExceeded", context.Cause(ctx))
	}

	ctx2, cancel2 := WithDeadline(context.Background(), f, f.Now().Add(time.Hour))
	if f.Pending() != 1 {
		t.Fatalf("Pending = %d with one deadline", f.Pending())
	}
	cancel2()
	if f.Pending() != 0 || !errors.Is(context.Cause(ctx2), context.Canceled) {
		t.Fatalf("after cancel: Pending = %d, cause %v", f.Pending(), context.Cause(ctx2))
	}

	past, cancel3 := WithDeadline(context.Background(), f, f.Now())
	defer cancel3()
	if past.Err() == nil || !errors.Is(context.Cause(past), context.DeadlineExceeded) {
		t.Fatalf("a deadline already passed: err %v cause %v", past.Err(), context.Cause(past))
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = Real{}
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("Real.Now is %v off", d)
	}
	if _, ok := <-c.NewTimer(0).C(); !ok {
		t.Fatal("timer channel closed")
	}
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Fatal("Stop of an armed timer = false")
	}
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
	ctx, cancel := WithTimeout(context.Background(), c, time.Hour)
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) < 59*time.Minute {
		t.Fatalf("Real deadline = %v, %v; want context.WithDeadline's", dl, ok)
	}
}
