package liveness

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/clock"
)

var start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	const window = time.Minute
	tests := []struct {
		name  string
		do    func(l *Loop, c *clock.Fake) // what the loop does at start
		after time.Duration                // then this much time passes
		alive bool
	}{
		{"new loop, within its first window", func(*Loop, *clock.Fake) {}, 59 * time.Second, true},
		{"new loop that never reported", func(*Loop, *clock.Fake) {}, 61 * time.Second, false},
		{"iteration just finished", func(l *Loop, _ *clock.Fake) { l.Alive() }, window, true},
		{"iteration finished too long ago", func(l *Loop, _ *clock.Fake) { l.Alive() }, window + time.Second, false},
		{"in a step with a live deadline", func(l *Loop, c *clock.Fake) { l.Busy(c.Now().Add(5 * time.Minute)) }, 4 * time.Minute, true},
		{"in a step past its deadline", func(l *Loop, c *clock.Fake) { l.Busy(c.Now().Add(5 * time.Minute)) }, 5*time.Minute + time.Second, false},
		{"a step without a deadline gets one window", func(l *Loop, _ *clock.Fake) { l.Busy(time.Time{}) }, 2 * window, false},
		{"a step's end counts as an iteration", func(l *Loop, c *clock.Fake) {
			done := l.Busy(c.Now().Add(time.Second))
			c.Advance(30 * time.Second)
			done()
		}, 50 * time.Second, true},
		{"idle on purpose", func(l *Loop, _ *clock.Fake) { l.Idle() }, 24 * time.Hour, true},
		{"back from idle", func(l *Loop, _ *clock.Fake) { l.Idle(); l.Alive() }, 2 * window, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock.NewFake(start)
			r := New(window, WithClock(c))
			l := r.Loop("inbox")
			r.Loop("control").Idle()
			tt.do(l, c)
			c.Advance(tt.after)
			ok, stale := r.Check(c.Now())
			if ok != tt.alive {
				t.Fatalf("Check ok = %v (stale %v), want %v", ok, stale, tt.alive)
			}
			if want := fmt.Sprint([]string{"inbox"}); !ok && fmt.Sprint(stale) != want {
				t.Errorf("stale = %v, want %s", stale, want)
			}
		})
	}
}

func TestLoopNamesAreUnique(t *testing.T) {
	r := New(0)
	if r.Window() != DefaultWindow {
		t.Errorf("window %v, want the default %v", r.Window(), DefaultWindow)
	}
	a, b := r.Loop("inbox"), r.Loop("inbox")
	if a != b || a.Name() != "inbox" {
		t.Errorf("two loops for one name: %p %p", a, b)
	}
}

// Loops report from their own goroutines while the watchdog reads.
func TestConcurrentReports(t *testing.T) {
	r := New(time.Minute)
	var wg sync.WaitGroup
	for i := range 4 {
		l := r.Loop(fmt.Sprint("loop", i))
		wg.Go(func() {
			for range 100 {
				l.Busy(time.Now().Add(time.Second))()
				l.Idle()
				l.Alive()
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			r.Check(time.Now())
		}
	})
	wg.Wait()
	if ok, stale := r.Check(time.Now()); !ok {
		t.Errorf("stale %v", stale)
	}
}
