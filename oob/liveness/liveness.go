// Package liveness tells whether the daemon's loops are still going round,
// and tells systemd's watchdog so only while they are.
//
// Each loop (the inbox poll, the session supervisor, the control socket)
// reports to a Record through its own Loop. A loop is alive while it is
// inside its allowance: Window after it last finished an iteration, or
// until the deadline of the step it is in, or for as long as it waits on
// purpose for something outside itself. Check is what the watchdog and
// /healthz both read.
package liveness

import (
	"sync"
	"time"

	"github.com/oobd/oobd/internal/clock"
)

// DefaultWindow is the allowance New uses when given none: the unit's
// WatchdogSec (configs/oobd.service), longer than any step of any loop
// that does not declare its own deadline.
const DefaultWindow = 10 * time.Minute

// Record is where loops report. It is safe for concurrent use.
type Record struct {
	window time.Duration
	clock  clock.Clock

	mu    sync.Mutex // guards loops and every Loop's due and idle
	loops []*Loop    // in the order they were made
}

// Option changes a Record.
type Option func(*Record)

// WithClock sets the clock the loops' reports and the watchdog's pings
// follow (tests); the default is clock.Real.
func WithClock(c clock.Clock) Option { return func(r *Record) { r.clock = c } }

// New returns a Record whose loops must finish an iteration at least every
// window (DefaultWindow when window <= 0) unless they say otherwise.
func New(window time.Duration, opts ...Option) *Record {
	if window <= 0 {
		window = DefaultWindow
	}
	r := &Record{window: window, clock: clock.Real{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Window is the allowance of a loop between two iterations.
func (r *Record) Window() time.Duration { return r.window }

// Loop returns the loop called name, making it on first use. A new loop
// is alive for one window: time to start and finish its first iteration.
func (r *Record) Loop(name string) *Loop {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.loops {
		if l.name == name {
			return l
		}
	}
	l := &Loop{r: r, name: name, due: r.clock.Now().Add(r.window)}
	r.loops = append(r.loops, l)
	return l
}

// Check reports whether every loop is alive at now, and names those that
// are not, in the order they were made.
func (r *Record) Check(now time.Time) (ok bool, stale []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.loops {
		if !l.idle && now.After(l.due) {
			stale = append(stale, l.name)
		}
	}
	return len(stale) == 0, stale
}

// Loop is one loop's line to its Record. Its methods may be called from
// any goroutine; the last call wins.
type Loop struct {
	r    *Record
	name string
	due  time.Time // the loop must report again by then
	idle bool      // waiting on purpose: no due time
}

// Name is the loop's name, as Check reports it.
func (l *Loop) Name() string { return l.name }

// Alive records that the loop has finished an iteration: it must finish
// the next within the Record's window.
func (l *Loop) Alive() { l.set(l.r.clock.Now().Add(l.r.window), false) }

// Busy records that the loop has entered a step that may take until
// deadline (a modem recovery ladder, a dial, a teardown): it is alive
// until then even past the window. A zero deadline gives one window.
// The returned function records the step's end, as Alive does.
func (l *Loop) Busy(deadline time.Time) (done func()) {
	if deadline.IsZero() {
		deadline = l.r.clock.Now().Add(l.r.window)
	}
	l.set(deadline, false)
	return l.Alive
}

// Idle records that the loop waits on purpose for something outside
// itself (the inbox poll while a single-port modem is lent to the
// dialer, the control socket waiting for a client, a loop that has
// ended): it counts as alive until its next Alive or Busy.
func (l *Loop) Idle() { l.set(time.Time{}, true) }

func (l *Loop) set(due time.Time, idle bool) {
	l.r.mu.Lock()
	l.due, l.idle = due, idle
	l.r.mu.Unlock()
}
