// Package clock is the boundary between code that waits and the time it
// waits on. Code that holds something for a while (a session until its
// end, a recovery ladder between its steps, a poll on its schedule) takes
// a Clock instead of calling time.Now, time.NewTimer and time.NewTicker,
// so that its tests can run on a Fake whose time moves only when the test
// says so, and never sleep.
//
// Production code uses Real. Bounds on I/O that the code under test also
// sets (a teardown step's timeout, a dial's deadline) go through
// WithTimeout and WithDeadline, which are context.WithTimeout and
// context.WithDeadline on the Real clock and follow the Fake's time on
// a Fake.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers and tickers that follow it.
type Clock interface {
	Now() time.Time
	// NewTimer is time.NewTimer on this clock.
	NewTimer(d time.Duration) Timer
	// AfterFunc is time.AfterFunc on this clock: f runs once d has
	// passed, unless the returned Timer (whose C is nil) is stopped.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTicker is time.NewTicker on this clock; d must be positive.
	NewTicker(d time.Duration) Ticker
}

// Timer is a *time.Timer made by a Clock. As with *time.Timer since Go
// 1.23, no value sent before a Stop or Reset is received after it.
type Timer interface {
	// C is nil for a timer made by AfterFunc.
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a *time.Ticker made by a Clock.
type Ticker interface {
	C() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Real is the system's clock: the time package itself.
type Real struct{}

var _ Clock = Real{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Stop()                 { r.t.Stop() }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }

// WithTimeout is WithDeadline at d from c's now.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	return WithDeadline(parent, c, c.Now().Add(d))
}

// WithDeadline returns a copy of parent that is cancelled when c reaches
// deadline, or when the returned cancel is called.
//
// On Real it is context.WithDeadline. On any other clock the context has
// no Deadline (its time is not the one real I/O runs on): it ends with
// Err context.Canceled and Cause context.DeadlineExceeded when c reaches
// deadline (on a Fake, before the Advance that gets there returns). The
// cancel func stops c's timer before it returns, so a Fake counts it no
// longer.
func WithDeadline(parent context.Context, c Clock, deadline time.Time) (context.Context, context.CancelFunc) {
	if _, ok := c.(Real); ok {
		return context.WithDeadline(parent, deadline)
	}
	ctx, cancel := context.WithCancelCause(parent)
	d := deadline.Sub(c.Now())
	if d <= 0 {
		cancel(context.DeadlineExceeded)
		return ctx, func() { cancel(context.Canceled) }
	}
	t := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}
