package inbox

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// beatRecorder is a Beat that records what it is told, in order.
type beatRecorder struct {
	mu     sync.Mutex
	events []string
}

func (b *beatRecorder) add(e string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
}

func (b *beatRecorder) Alive() { b.add("alive") }
func (b *beatRecorder) Idle()  { b.add("idle") }
func (b *beatRecorder) Busy(deadline time.Time) func() {
	b.add("busy " + deadline.UTC().Format(time.RFC3339))
	return func() { b.add("busy done") }
}

func (b *beatRecorder) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// gatedCounter is a Counter that hands each poll's result to the test and
// holds the round until the test lets it go: the round reports to the beat
// only after that. Closing stop lets every round go (a failed test).
type gatedCounter struct {
	polls chan string
	gate  chan struct{}
	stop  chan struct{}
}

func (c *gatedCounter) Poll(result string) {
	select {
	case c.polls <- result:
	case <-c.stop:
		return
	}
	select {
	case <-c.gate:
	case <-c.stop:
	}
}

func (c *gatedCounter) Text(string) {}

// The poller tells its beat it is alive after each round, and idle (alive
// while it waits on purpose) from Release: a round while the port is lent
// tells it nothing. From Reacquire it is alive again, round after round.
// With a schedule longer than the beat's window, each Alive comes with a
// Busy until the next scheduled round (plus a minute).
//
// A round tells the beat after it counts its result, which the counter
// holds until the test lets it go: the next round's count shows the one
// before has told the beat all it will.
func TestBeatAliveIdleAlive(t *testing.T) {
	b := &beatRecorder{}
	c := &gatedCounter{polls: make(chan string), gate: make(chan struct{}), stop: make(chan struct{})}
	r := newRig(t, WithSchedule("@every 1h"), WithIndications(true), WithHandOver(true),
		WithBeat(b, time.Minute), WithCounter(c))
	t.Cleanup(func() { close(c.stop) }) // before the rig's Close
	ctx := context.Background()
	// The rig's clock stands still: every round is due by the same time.
	round := []string{"alive", "busy " + r.clock().Add(time.Hour+time.Minute).UTC().Format(time.RFC3339)}
	idle := []string{"idle"}

	// want checks everything the beat was told so far.
	want := func(when string, w ...[]string) {
		t.Helper()
		if got, w := b.snapshot(), slices.Concat(w...); !slices.Equal(got, w) {
			t.Fatalf("%s: the beat was told %q, want %q", when, got, w)
		}
	}
	// counted waits for a round of the watcher to count result, and holds
	// it there.
	counted := func(result string) {
		t.Helper()
		select {
		case got := <-c.polls:
			if got != result {
				t.Fatalf("a round counted %q, want %q", got, result)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no round counted %q; the beat was told %q", result, b.snapshot())
		}
	}
	lists := func() int {
		r.m.mu.Lock()
		defer r.m.mu.Unlock()
		return r.m.calls
	}
	arrival := func() { r.m.arrivals <- struct{}{} }
	letGo := func() { c.gate <- struct{}{} }

	if err := r.p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	want("after Start", round)

	arrival()
	counted("ok")
	letGo()
	arrival()
	counted("ok")
	want("after a round", round, round)

	// Lent while that round is held: idle at once, and the round, ending
	// while the port is lent, says nothing.
	if err := r.p.Release(ctx); err != nil {
		t.Fatal(err)
	}
	want("after Release", round, round, idle)
	letGo()
	arrival()
	counted("skipped")
	want("after a round that ended while lent", round, round, idle)
	letGo()
	arrival()
	counted("skipped")
	want("after a round while lent", round, round, idle)
	if n := lists(); n != 2 {
		t.Errorf("the modem was listed %d times, want twice: never while lent", n)
	}

	// Taken back while a lent round is held: alive at once; that round ends
	// after the port is back and says alive too; then the round Reacquire
	// asks for, and the next.
	if err := r.p.Reacquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	want("after Reacquire", round, round, idle, round)
	letGo()
	counted("ok") // the round Reacquire asked for
	want("after the last lent round", round, round, idle, round, round)
	letGo()
	arrival()
	counted("ok")
	want("after the round Reacquire asked for", round, round, idle, round, round, round)
	letGo()
	// Close waits for the last round, which tells the beat.
	r.p.Close()
	want("after Close", round, round, idle, round, round, round, round)
	if n := lists(); n != 4 {
		t.Errorf("the modem was listed %d times, want 4", n)
	}
}
