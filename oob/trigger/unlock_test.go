package trigger

import (
	"testing"
	"time"
)

func TestUnlock(t *testing.T) {
	tests := []struct {
		name      string
		failures  int  // wrong secrets before the unlock (max_failures is 3)
		synced    bool // the clock is synchronised
		wantEnded bool
	}{
		{"a lockout", 3, true, true},
		{"a lockout on an unsynchronised clock", 3, false, true},
		{"failures, no lockout", 2, true, false},
		{"nothing", 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			r.clock.synced = tt.synced
			for range tt.failures {
				r.expect(msg(owner, t0, "wrong"), BadSecret)
			}
			_, until := r.trig.Lockout()
			e, err := r.trig.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if e.Active != tt.wantEnded || e.Failures != tt.failures || (tt.wantEnded && !e.Until.Equal(until)) {
				t.Errorf("Unlock = %+v; want active %v, %d failures, until %v", e, tt.wantEnded, tt.failures, until)
			}
			if on, _ := r.trig.Lockout(); on {
				t.Error("still locked out")
			}
			// The owner's right text is accepted at once, and the next
			// wrong one counts from zero.
			r.expect(msg(owner, t0, secret+" status"), Accepted)
			r.expect(msg(owner, t0, "wrong"), BadSecret)
			if n := r.failures(); n != 1 {
				t.Errorf("%d failures after the unlock and one more, want 1", n)
			}
			// It is in the ledger: a restart does not bring it back.
			r.restart()
			if on, _ := r.trig.Lockout(); on {
				t.Error("locked out again after a restart")
			}
			r.expect(msg(owner, t0, secret+" status"), Accepted)
		})
	}
}

// A lockout that ran out is not reported as ended by the operator.
func TestUnlockAfterTheLockoutRanOut(t *testing.T) {
	r := newRig(t, false)
	r.clock.synced = true
	for range 3 {
		r.expect(msg(owner, t0, "wrong"), BadSecret)
	}
	r.clock.now = t0.Add(2 * time.Hour)
	e, err := r.trig.Unlock()
	if err != nil || e.Active || e.Failures != 0 {
		t.Errorf("Unlock = %+v, %v; want nothing ended", e, err)
	}
}
