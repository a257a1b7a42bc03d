package trigger

import (
	"fmt"
	"time"

	"github.com/oobd/oobd/oob/state"
)

// Unlocked is the audit verdict of a lockout ended by the box's operator
// (`oobd unlock`).
const Unlocked Verdict = "unlocked"

// LockoutEnded is what Unlock cleared.
type LockoutEnded struct {
	// Active is whether a lockout was in force.
	Active bool
	// Until is when it would have ended, on the trusted time's scale
	// (zero: there was none).
	Until time.Time
	// Failures is how many counted failures were cleared.
	Failures int
}

// Unlock ends a lockout and clears the failures counted towards the next
// one, in the ledger: the owner, locked out by their own mistyped texts,
// can trigger again at once. Only the box's operator may do this (the
// control socket); no text can.
func (t *Trigger) Unlock() (LockoutEnded, error) {
	var e LockoutEnded
	err := t.store.Update(func(st *state.State) {
		led := &st.Trigger
		// What has run out already is not what the operator ended.
		t.expire(led, t.trusted.orLocal())
		e.Active, e.Until = !led.LockoutUntil.IsZero(), led.LockoutUntil
		e.Failures = len(led.Failures)
		led.LockoutUntil, led.LockoutStart, led.Failures = time.Time{}, time.Time{}, nil
	})
	t.mu.Lock()
	t.deadline = time.Time{}
	t.mu.Unlock()
	if err != nil {
		// Ended in memory (the store keeps the change); say it did not
		// reach the disk, so a restart could bring the lockout back.
		return e, fmt.Errorf("trigger: unlock not saved: %w", err)
	}
	return e, nil
}
