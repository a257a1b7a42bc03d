package liveness

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/clock"
)

// notes records what the watchdog tells systemd, in order.
type notes chan string

func (n notes) Notify(state string) error { n <- state; return nil }

// expect checks that the next states sent are want, in order.
func (n notes) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-n:
			if !strings.HasPrefix(got, w) {
				t.Fatalf("sent %q, want %q", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing sent to systemd, want %q", w)
		}
	}
}

// watched is a watchdog running over a Record on a fake clock, pinging
// (at most) every minute.
type watched struct {
	t      *testing.T
	clock  *clock.Fake
	rec    *Record
	notes  notes
	beaten chan struct{}
	stop   func()
}

func watch(t *testing.T) *watched {
	t.Helper()
	w := &watched{t: t, clock: clock.NewFake(start), notes: make(notes, 16), beaten: make(chan struct{})}
	w.rec = New(time.Minute, WithClock(w.clock))
	return w
}

// run starts the watchdog and waits until its ticker is armed.
func (w *watched) run() {
	w.t.Helper()
	wd := &Watchdog{Record: w.rec, Interval: 2 * time.Minute, Notifier: w.notes,
		beaten: func() { w.beaten <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wd.Run(ctx); close(done) }()
	w.stop = func() { cancel(); <-done }
	w.t.Cleanup(w.stop)
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	if err := w.clock.BlockUntil(bctx, 1); err != nil {
		w.t.Fatal(err)
	}
}

// half moves the clock on by half a ping period: no tick.
func (w *watched) half() { w.clock.Advance(30 * time.Second) }

// tick moves the clock on to the next tick, and returns once the
// watchdog has handled it.
func (w *watched) tick() {
	w.t.Helper()
	w.clock.Advance(30 * time.Second)
	select {
	case <-w.beaten:
	case <-time.After(10 * time.Second):
		w.t.Fatal("the watchdog did not take the tick")
	}
}

func TestWatchdogStopsWhileALoopStalls(t *testing.T) {
	w := watch(t)
	inbox, supervisor := w.rec.Loop("inbox"), w.rec.Loop("session")
	w.run()
	w.notes.expect(t, "READY=1", "WATCHDOG=1")

	// The supervisor goes round; the inbox poll hangs in its first round,
	// due at one minute.
	w.half()
	supervisor.Alive()
	w.tick() // 1m: inbox just in time
	w.notes.expect(t, "WATCHDOG=1")
	w.half()
	supervisor.Alive()
	w.tick() // 2m: inbox a minute late: no ping
	w.notes.expect(t, "STATUS=stale loops: inbox")
	w.half()
	supervisor.Alive()
	w.tick() // 3m: still stale, nothing new to say, no ping
	w.half()
	supervisor.Alive()
	inbox.Alive()
	w.tick() // 4m: what is sent now proves the tick before sent nothing
	w.notes.expect(t, "STATUS=running", "WATCHDOG=1")

	w.stop()
	w.notes.expect(t, "STOPPING=1")
	if len(w.notes) != 0 {
		t.Errorf("sent %q after STOPPING", <-w.notes)
	}
}

func TestWatchdogPingsThroughALongStep(t *testing.T) {
	w := watch(t)
	modem := w.rec.Loop("inbox")
	w.run()
	w.notes.expect(t, "READY=1", "WATCHDOG=1")

	// The recovery ladder may take five minutes, well past the window.
	done := modem.Busy(w.clock.Now().Add(5 * time.Minute))
	for range 5 {
		w.half()
		w.tick()
		w.notes.expect(t, "WATCHDOG=1")
	}
	w.half()
	w.tick() // 6m: past the step's own deadline
	w.notes.expect(t, "STATUS=stale loops: inbox")
	done()
	w.half()
	w.tick()
	w.notes.expect(t, "STATUS=running", "WATCHDOG=1")

	// Lent to the dialer for an hour: idle on purpose, still alive.
	modem.Idle()
	for range 60 {
		w.half()
		w.tick()
		w.notes.expect(t, "WATCHDOG=1")
	}
}

func TestWatchdogWithoutInterval(t *testing.T) {
	n := make(notes, 4)
	w := &Watchdog{Record: New(time.Minute), Notifier: n}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	n.expect(t, "READY=1")
	cancel()
	<-done
	n.expect(t, "STOPPING=1")
}

// The default notifier speaks sd_notify's datagram protocol on
// $NOTIFY_SOCKET, and reads WATCHDOG_USEC.
func TestSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "600000000")
	t.Setenv("WATCHDOG_PID", "")
	if d, err := SystemdInterval(); err != nil || d != 10*time.Minute {
		t.Errorf("SystemdInterval = %v, %v; want 10m", d, err)
	}
	if err := (Systemd{}).Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	k, err := conn.Read(buf)
	if err != nil || string(buf[:k]) != "READY=1" {
		t.Fatalf("systemd got %q, %v", buf[:k], err)
	}
}
