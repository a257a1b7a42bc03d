package clock

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Fake is a Clock for tests: its time moves only when the test calls
// Advance. Timers and tickers fire inside Advance, in the order of their
// times, with Now at each one's time; firing never blocks (each channel
// holds one value, as the time package's do, so a tick that was not
// received yet makes the next one drop, as with *time.Ticker). An
// AfterFunc's f runs in the goroutine that calls Advance (not holding
// the Fake's lock), so what it does is done when Advance returns.
//
// The code under test usually waits on the Fake's timers in a goroutine
// of its own. The test learns that it has armed them with BlockUntil (or
// sees how many are armed with Pending), then advances: there is nothing
// to sleep for.
//
// The zero Fake starts at the zero time; NewFake starts elsewhere.
type Fake struct {
	mu  sync.Mutex // guards the fields below
	now time.Time
	// armed are the timers not yet fired or stopped and the tickers not
	// stopped, in the order they were armed (which breaks ties).
	armed []*fakeTimer
	// changed is closed (and dropped) when armed changes; nil while
	// nobody waits in BlockUntil.
	changed chan struct{}
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake whose time is start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now is the Fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer makes a timer that fires once the Fake's time has moved on by
// d; at once if d <= 0.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// AfterFunc arranges for f to run once the Fake's time has moved on by d:
// in the Advance that gets there, or, if d <= 0, at once in a goroutine
// of its own (as time.AfterFunc does).
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// NewTicker makes a ticker that ticks every d of the Fake's time. Like
// time.NewTicker, it panics if d <= 0: that is the caller's bug.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	t := &fakeTimer{f: f, c: make(chan time.Time, 1), period: d}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return fakeTicker{t}
}

// Advance moves the Fake's time on by d (a negative d counts as 0),
// firing every timer and tick that falls due on the way, in order. A
// ticker fires once per period passed, so advancing by many periods of
// a short ticker takes as many steps.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(max(d, 0))
	for {
		t := f.nextDue(end)
		if t == nil {
			break
		}
		if t.when.After(f.now) {
			f.now = t.when
		}
		if fn := f.fire(t); fn != nil {
			f.mu.Unlock()
			fn()
			f.mu.Lock()
		}
	}
	f.now = end
}

// Pending is how many timers are armed: timers not yet fired or
// stopped, and tickers not stopped.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.armed)
}

// BlockUntil waits until at least n timers are armed (see Pending), or
// ctx ends.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have := len(f.armed)
		if have >= n {
			f.mu.Unlock()
			return nil
		}
		if f.changed == nil {
			f.changed = make(chan struct{})
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("clock: waiting for %d armed timers, have %d: %w", n, have, context.Cause(ctx))
		}
	}
}

// arm sets t to fire at d from now, or fires it at once. f.mu is held.
func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	if d <= 0 && t.period == 0 {
		t.when = f.now
		if fn := f.fire(t); fn != nil {
			go fn()
		}
		return
	}
	t.when = f.now.Add(d)
	if !t.armed {
		t.armed = true
		f.armed = append(f.armed, t)
		f.notify()
	}
}

// disarm takes t off the armed list; it says whether t was on it. f.mu
// is held.
func (f *Fake) disarm(t *fakeTimer) bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, a := range f.armed {
		if a == t {
			f.armed = append(f.armed[:i], f.armed[i+1:]...)
			break
		}
	}
	f.notify()
	return true
}

// nextDue is the armed timer with the earliest time not after end, or
// nil. f.mu is held.
func (f *Fake) nextDue(end time.Time) *fakeTimer {
	var next *fakeTimer
	for _, t := range f.armed {
		if !t.when.After(end) && (next == nil || t.when.Before(next.when)) {
			next = t
		}
	}
	return next
}

// fire sends t's value, or returns its func for the caller to run
// without f.mu; a ticker is armed for its next tick, a timer disarmed.
// f.mu is held.
func (f *Fake) fire(t *fakeTimer) func() {
	if t.period > 0 {
		t.when = t.when.Add(t.period)
	} else {
		f.disarm(t)
	}
	if t.fn != nil {
		return t.fn
	}
	select {
	case t.c <- f.now:
	default: // the last value was not received: drop this one
	}
	return nil
}

func (f *Fake) notify() {
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

// fakeTimer is a Fake's timer (period 0), AfterFunc (fn set) or ticker.
type fakeTimer struct {
	f  *Fake
	c  chan time.Time // nil for an AfterFunc
	fn func()

	// Guarded by f.mu.
	period time.Duration // 0 for a timer
	when   time.Time     // when it fires next, while armed
	armed  bool          // on f.armed
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// Stop disarms t and drops a value it sent that was not received yet; it
// says whether either was the case (as *time.Timer's Stop does).
func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.stop()
}

// stop is Stop with f.mu held.
func (t *fakeTimer) stop() bool {
	was := t.f.disarm(t)
	select {
	case <-t.c:
		return true
	default:
		return was
	}
}

// Reset stops t and arms it again for d from now.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.stop()
	t.f.arm(t, d)
	return was
}

// fakeTicker is the Ticker view of a fakeTimer (its Stop and Reset
// return nothing).
type fakeTicker struct{ *fakeTimer }

func (t fakeTicker) Stop() { t.fakeTimer.Stop() }

// Reset makes the ticker tick every d from now; like *time.Ticker's, it
// panics if d <= 0.
func (t fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	t.stop()
	t.period = d
	f.arm(t.fakeTimer, d)
}
