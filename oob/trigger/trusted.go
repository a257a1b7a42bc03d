package trigger

import (
	"sync"
	"time"
)

// trustedClock is the newest time the box can trust, on the scale of the
// carrier's timestamps: the kernel's clock while it is synchronised, else
// a base (the newest accepted SCTS, or the trusted time saved before a
// restart) plus the monotonic time since the base was taken. Times from
// two clocks are never compared: an SCTS is compared with this, and so are
// the lockout's window and a session's end.
type trustedClock struct {
	clock  Clock
	maxAge time.Duration

	mu   sync.Mutex // guards base and mark
	base time.Time  // zero: nothing trusted yet
	mark time.Time  // the local clock (with its monotonic reading) when base was taken
}

// now is the trusted time, and whether there is one at all.
func (c *trustedClock) now() (time.Time, bool) {
	local := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Time
	if !c.base.IsZero() {
		t = c.base.Add(local.Sub(c.mark)) // monotonic: a jump of the wall clock does not move it
	}
	if c.clock.Synchronized() && local.After(t) {
		t = local
	}
	return t, !t.IsZero()
}

// orLocal is the trusted time, or the local clock when nothing is trusted
// yet (a fresh install that never synchronised and accepted no text): the
// lockout needs some scale, and the monotonic part keeps it honest.
func (c *trustedClock) orLocal() time.Time {
	if t, ok := c.now(); ok {
		return t
	}
	return c.clock.Now()
}

// accepted moves the trusted time to an accepted text's SCTS when that is
// newer; never further than max_age beyond a synchronised clock, so one
// faulty timestamp cannot make every later text stale.
func (c *trustedClock) accepted(scts time.Time) {
	local := c.clock.Now()
	if c.clock.Synchronized() {
		if lim := local.Add(c.maxAge); scts.After(lim) {
			scts = lim
		}
	}
	if cur, _ := c.now(); !scts.After(cur) {
		return
	}
	c.mu.Lock()
	c.base, c.mark = scts, local
	c.mu.Unlock()
}

// restore takes the trusted time saved by an earlier run as the base: the
// time that passed while the box was down is unknown, so it counts as
// none (nothing trusted then ends early).
func (c *trustedClock) restore(saved time.Time) {
	if saved.IsZero() {
		return
	}
	c.mu.Lock()
	c.base, c.mark = saved, c.clock.Now()
	c.mu.Unlock()
}
