package health

import (
	"sync"
	"time"
)

// Checker runs the checks and keeps, for each, since when it has been
// passing or failing. It is safe for concurrent use; share one between
// /healthz and /metrics so both see the same transitions.
type Checker struct {
	now func() time.Time

	mu   sync.Mutex // guards last
	last map[string]Check
}

// NewChecker returns a Checker that reads the time from now (nil:
// time.Now).
func NewChecker(now func() time.Time) *Checker {
	if now == nil {
		now = time.Now
	}
	return &Checker{now: now, last: make(map[string]Check)}
}

// Check evaluates in now and returns the report, each check with the time
// it last changed state. A check's first evaluation sets that time: when
// in says since when the state has held (e.g. Modem.Since), that time,
// else now.
func (c *Checker) Check(in Input) Report {
	now := c.now()
	checks := Evaluate(in, now)
	rep := Report{OK: true, Checks: checks}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ch := range checks {
		prev, seen := c.last[ch.Name]
		switch {
		case seen && prev.OK == ch.OK:
			ch.Since = prev.Since
		case ch.Since.IsZero() || ch.Since.After(now) || seen && !ch.Since.After(prev.Since):
			// No usable hint: a hint older than the last change is about
			// an earlier spell of this state.
			ch.Since = now
		}
		ch.Since = ch.Since.UTC()
		c.last[ch.Name] = ch
		checks[i] = ch
		rep.OK = rep.OK && ch.OK
	}
	return rep
}
