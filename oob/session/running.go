package session

import (
	"context"
	"sync"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// running is what the Controller shares with one session's ladder, from
// the up to the end of its teardown: the report, the end, who waits for
// the up's outcome, and the context that ends it.
type running struct {
	// ctx ends the session; its cause is the reason (a down, a kill, the
	// agent stopping).
	ctx    context.Context
	cancel context.CancelCauseFunc
	// done is closed once the session is over and no longer current.
	done chan struct{}
	// changed is signalled (without blocking) when the end moves.
	changed chan struct{}
	// dialing is closed when the way up reaches the dialer (or the session
	// ends before it does).
	dialing     chan struct{}
	dialingOnce sync.Once

	mu       sync.Mutex // guards the fields below
	rep      Report
	duration time.Duration // asked for; the end is set from it once up
	waiters  []chan<- Outcome
	probes   []Probe // a drill's checks through the link; set before the ladder runs
}

func newRunning(parent context.Context, rep Report, d time.Duration) *running {
	ctx, cancel := context.WithCancelCause(parent)
	return &running{ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}, 1),
		dialing: make(chan struct{}), rep: rep, duration: d}
}

// dialed records that the way up reached the dialer.
func (r *running) dialed() { r.dialingOnce.Do(func() { close(r.dialing) }) }

// report is a copy of the session's report.
func (r *running) report() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reportLocked()
}

func (r *running) reportLocked() Report {
	rep := r.rep
	rep.Forwards = append([]tunnel.BoundForward(nil), r.rep.Forwards...)
	rep.Steps = append([]StepTime(nil), r.rep.Steps...)
	return rep
}

// update changes the report and returns a copy of the result.
func (r *running) update(f func(*Report)) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.rep)
	return r.reportLocked()
}

// until is the session's end; zero until it is up.
func (r *running) until() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rep.Until
}

// markUp starts the session's time at now: it runs from the self-check.
func (r *running) markUp(now time.Time) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Started = now
	r.rep.Until = now.Add(r.duration)
	r.rep.State = StateUp
	return r.reportLocked()
}

func (r *running) stop(cause error) { r.cancel(cause) }

func (r *running) addWaiter(w chan<- Outcome) {
	r.mu.Lock()
	r.waiters = append(r.waiters, w)
	r.mu.Unlock()
}

// settle answers everyone waiting for the up's outcome.
func (r *running) settle(o Outcome) {
	r.mu.Lock()
	ws := r.waiters
	r.waiters = nil
	r.mu.Unlock()
	for _, w := range ws {
		w <- o // buffered, one each
	}
}

// extendTo moves the end to at least end (an up during a session), but
// not beyond maxLen after the start. Before the session is up it makes
// the duration (counted from the self-check) at least end-now.
func (r *running) extendTo(end, now time.Time, maxLen time.Duration) {
	r.mu.Lock()
	if r.rep.Until.IsZero() {
		r.duration = max(r.duration, end.Sub(now))
		r.mu.Unlock()
		return
	}
	if end.After(r.rep.Until) {
		r.rep.Until = minTime(end, r.rep.Started.Add(maxLen))
	}
	r.mu.Unlock()
	r.signal()
}

// extendBy adds d to the end, but not beyond maxLen after the start, and
// returns the new end. Before the session is up it adds d to the duration
// (counted from the self-check) and returns the zero time.
func (r *running) extendBy(d, maxLen time.Duration) time.Time {
	r.mu.Lock()
	if r.rep.Until.IsZero() {
		r.duration = min(r.duration+d, maxLen)
		r.mu.Unlock()
		return time.Time{}
	}
	r.rep.Until = minTime(r.rep.Until.Add(d), r.rep.Started.Add(maxLen))
	until := r.rep.Until
	r.mu.Unlock()
	r.signal()
	return until
}

func (r *running) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
