package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/oobd/oobd/internal/clock"
)

// holdFor is code under test: it waits d on c, or until ctx ends.
func holdFor(ctx context.Context, c clock.Clock, d time.Duration) string {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return "time is up"
	case <-ctx.Done():
		return "stopped"
	}
}

// A test runs the code on a Fake, waits until the code has armed its
// timer, and moves the time on: nothing sleeps.
func ExampleFake() {
	f := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	done := make(chan string)
	go func() { done <- holdFor(context.Background(), f, 30*time.Minute) }()

	f.BlockUntil(context.Background(), 1)
	f.Advance(30 * time.Minute)
	fmt.Println(<-done, "at", f.Now().Format("15:04"))
	// Output: time is up at 12:30
}
