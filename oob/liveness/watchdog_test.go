package liveness

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notes records what the watchdog tells systemd, in order.
type notes chan string

func (n notes) Notify(state string) error { n <- state; return nil }

// next returns the next state sent.
func (n notes) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-n:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing sent to systemd")
		return ""
	}
}

// expect checks that the next states are want, in order.
func (n notes) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := n.next(t); !strings.HasPrefix(got, w) {
			t.Fatalf("sent %q, want %q", got, w)
		}
	}
}

// startWatchdog runs a watchdog over r with a hand-driven ticker; tick
// returns once the watchdog has handled the tick.
func startWatchdog(t *testing.T, r *Record) (n notes, tick func(), stop func()) {
	t.Helper()
	n = make(notes, 16)
	ticks := make(chan time.Time)
	beaten := make(chan struct{})
	w := &Watchdog{Record: r, Interval: 2 * time.Minute, Notifier: n,
		beaten: func() { beaten <- struct{}{} },
		ticker: func(d time.Duration) (<-chan time.Time, func()) {
			if d != time.Minute {
				t.Errorf("pings every %v, want half of the interval", d)
			}
			return ticks, func() {}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	return n, func() { ticks <- time.Time{}; <-beaten }, func() { cancel(); <-done }
}

func TestWatchdogStopsWhileALoopStalls(t *testing.T) {
	c := newClock()
	r := New(time.Minute, WithClock(c.Now))
	inbox, supervisor := r.Loop("inbox"), r.Loop("session")
	n, tick, stop := startWatchdog(t, r)
	n.expect(t, "READY=1", "WATCHDOG=1")

	// The supervisor goes round; the inbox poll hangs in its first
	// iteration, due at one minute.
	c.Advance(50 * time.Second)
	supervisor.Alive()
	tick()
	n.expect(t, "WATCHDOG=1")
	c.Advance(50 * time.Second)
	supervisor.Alive()
	tick() // inbox is 40 s past its window: no ping
	n.expect(t, "STATUS=stale loops: inbox")
	c.Advance(50 * time.Second)
	supervisor.Alive()
	tick() // still stale, nothing new to say, no ping
	inbox.Alive()
	tick() // what follows proves the tick before sent nothing
	n.expect(t, "STATUS=running", "WATCHDOG=1")

	stop()
	n.expect(t, "STOPPING=1")
	if len(n) != 0 {
		t.Errorf("sent %q after STOPPING", <-n)
	}
}

func TestWatchdogPingsThroughALongStep(t *testing.T) {
	c := newClock()
	r := New(time.Minute, WithClock(c.Now))
	modem := r.Loop("inbox")
	n, tick, stop := startWatchdog(t, r)
	defer stop()
	n.expect(t, "READY=1", "WATCHDOG=1")

	// The recovery ladder may take five minutes, well past the window.
	done := modem.Busy(c.Now().Add(5 * time.Minute))
	for range 4 {
		c.Advance(time.Minute)
		tick()
		n.expect(t, "WATCHDOG=1")
	}
	c.Advance(90 * time.Second) // past the step's own deadline
	tick()
	n.expect(t, "STATUS=stale loops: inbox")
	done()
	tick()
	n.expect(t, "STATUS=running", "WATCHDOG=1")

	// Lent to the dialer for an hour: idle on purpose, still alive.
	modem.Idle()
	c.Advance(time.Hour)
	tick()
	n.expect(t, "WATCHDOG=1")
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
