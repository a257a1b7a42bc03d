package console

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oobd/oobd/internal/clock"
)

// The router's USB serial adapter goes away (a hub power-cycled by the
// modem's recovery) and comes back under the same by-id path: the bridge
// keeps its clients and its history, tells them, and types into the new
// device. A takeover moves the keyboard between the two clients.
func TestReplugAndTakeover(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := newRouter(t)
	st := make(states, 16)
	b, err := Listen(Config{Device: r.link, Baud: 9600, Listen: "127.0.0.1:0", History: 4096, IdleTimeout: 30 * time.Minute},
		quiet(), WithBackoff(time.Millisecond, 20*time.Millisecond), WithStateFunc(st.fn))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opened := st.wait(t, true)
	if s := b.State(); !s.Open || !s.Since.Equal(opened.Since) {
		t.Fatalf("State() = %+v, want the open state %+v", s, opened)
	}
	r.print("System Bootstrap, Version 15.0\r\nRouter>")

	owner := dial(t, b)
	owner.expect("You are client 1")
	owner.expect("Keyboard: yours.")
	owner.expect("Router>")
	other := dial(t, b)
	other.expect("Keyboard: client 1 (127.0.0.1:")
	other.expect("you are watching")
	other.expect("Router>")

	owner.send("show version\r")
	r.expect("show version\r")
	other.send("reload\r")
	other.expect("watching only: client 1")
	owner.send("show clock\r")
	if got := r.expect("show clock\r"); got != "show clock\r" {
		t.Fatalf("the router got %q: a watcher's keystrokes reached it", got)
	}

	// Unplugged: both clients stay and are told; keystrokes are dropped.
	r.unplug()
	owner.expect("[oobd: console device gone (")
	owner.expect("re-opening...]")
	other.expect("console device gone")
	if gone := st.wait(t, false); gone.Err == "" {
		t.Errorf("a lost device's state has no reason: %+v", gone)
	}
	owner.send("x")
	owner.expect("keystrokes dropped")

	// Plugged back in: found again by its path.
	r.plug()
	owner.expect("[oobd: console device back]")
	other.expect("console device back")
	st.wait(t, true)
	owner.send("show users\r")
	r.expect("show users\r")
	r.print("\r\nRouter#")
	owner.expect("Router#")
	other.expect("Router#")

	// The watcher takes the keyboard over; the owner is told and now
	// only watches.
	other.send("\x1et")
	other.expect("[oobd: you have the keyboard]")
	owner.expect("[oobd: client 2 (127.0.0.1:")
	owner.expect("took the keyboard over; you are watching")
	owner.send("write erase\r")
	owner.expect("watching only: client 2")
	other.send("configure terminal\r")
	if got := r.expect("configure terminal\r"); got != "configure terminal\r" {
		t.Fatalf("the router got %q after the takeover", got)
	}

	// A newcomer sees the history of both devices.
	late := dial(t, b)
	hist := late.expect("Router#")
	if !strings.Contains(hist, "System Bootstrap") || !strings.Contains(hist, "Keyboard: client 2") {
		t.Errorf("the history did not survive the re-plug:\n%s", hist)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.Close() // idempotent
	owner.eof()
	t.Logf("what the first client saw:\n%s", owner.transcript())
}

func TestIdleTimeout(t *testing.T) {
	for _, tt := range []struct {
		name string
		idle time.Duration
	}{
		{"30m", 30 * time.Minute},
		{"off", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(start)
			b, port := listenFake(t, Config{IdleTimeout: tt.idle}, WithClock(clk))
			stray := dial(t, b) // an nc left open on the box
			stray.expect("Keyboard: yours.")
			owner := dial(t, b)
			owner.expect("you are watching")

			clk.Advance(29 * time.Minute)
			stray.send("x")
			port.expectTyped(t, "x")
			clk.Advance(2 * time.Minute) // 31m after it got the keyboard, 2m after it typed
			if got := holder(b); got != 1 {
				t.Fatalf("after 2m without input the keyboard is with client %d, want 1", got)
			}
			if tt.idle == 0 {
				clk.Advance(24 * time.Hour)
				if got, n := holder(b), clk.Pending(); got != 1 || n != 0 {
					t.Fatalf("idle timeout off: keyboard with %d, %d timers; want client 1, none", got, n)
				}
				return
			}
			clk.Advance(28 * time.Minute) // 30m since it typed
			stray.expect("[oobd: no input for 30m: the keyboard is free")
			owner.expect("client 1 (127.0.0.1:")
			owner.expect("was idle for 30m: the keyboard is free")
			if got := holder(b); got != 0 {
				t.Fatalf("keyboard with client %d after the idle timeout", got)
			}
			owner.send("show log\r")
			owner.expect("[oobd: you have the keyboard]")
			port.expectTyped(t, "show log\r")
		})
	}
}

// holder is the id of the client with the keyboard, 0 for none.
func holder(b *Bridge) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.writer == nil {
		return 0
	}
	return b.writer.id
}

func TestBreak(t *testing.T) {
	b, port := listenFake(t, Config{})
	owner := dial(t, b)
	owner.expect("Keyboard: yours.")
	watcher := dial(t, b)
	watcher.expect("you are watching")

	// A watcher's BREAK is refused...
	watcher.send("\x1eb")
	watcher.expect("watching only")
	// ...the keyboard holder's is sent, with the escape key and with
	// telnet's own BRK, and everyone is told.
	for _, seq := range []string{"\x1eb", "\xff\xf3"} {
		owner.send(seq)
		select {
		case <-port.breaks:
		case <-time.After(patience):
			t.Fatalf("%q sent no BREAK", seq)
		}
		owner.expect("sent a BREAK]")
		watcher.expect("sent a BREAK]")
	}
	if n := len(port.breaks); n != 0 {
		t.Errorf("%d BREAKs too many", n)
	}
	port.failBreaks(errors.New("inappropriate ioctl for device"))
	owner.send("\x1eB")
	owner.expect("[oobd: no BREAK: inappropriate ioctl for device]")
}

func TestKeys(t *testing.T) {
	b, port := listenFake(t, Config{})
	c := dial(t, b)
	greeting := c.expect("send Ctrl-^ itself")
	for _, key := range []string{"t       take the keyboard", "b       send a BREAK", "?       this help", ".       disconnect"} {
		if !strings.Contains(greeting, key) {
			t.Errorf("the greeting does not list %q:\n%s", key, greeting)
		}
	}
	c.send("\x1e\x1e")
	port.expectTyped(t, "\x1e")
	c.send("\x1ex") // Cisco's own escape sequence, passed on
	port.expectTyped(t, "\x1ex")
	c.send("\x1e?")
	c.expect("Keyboard: yours.")
	c.send("\x1et")
	c.expect("you have the keyboard already")
	c.send("\x1e.")
	c.expect("[oobd: bye]")
	c.eof()
}

// A telnet client's negotiation is answered and never reaches the
// router; its CR NUL is a CR; a 255 from the router is doubled for it.
func TestTelnetClient(t *testing.T) {
	b, port := listenFake(t, Config{})
	c := dial(t, b)
	c.expect(string(telnetOffer))
	c.expect("Keyboard: yours.")
	c.send("\xff\xfd\x01\xff\xfd\x03\xff\xfb\x1f") // DO ECHO, DO SGA, WILL NAWS
	c.expect("\xff\xfe\x1f")                       // DONT NAWS
	c.send("\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0show ip route\r\x00")
	port.expectTyped(t, "show ip route\r")
	port.print(t, "ok\xff\r\n")
	c.expect("ok\xff\xff\r\n")
}

// The device is opened again and again, waiting 1 s, 2 s, 4 s … up to
// 30 s between tries, and the state says why it is not open.
func TestReopenBackoff(t *testing.T) {
	clk := clock.NewFake(start)
	fails := 7
	port := newFakePort()
	st := make(states, 16)
	b, err := Listen(Config{Device: "/dev/serial/by-id/usb-router", Listen: "127.0.0.1:0"}, quiet(), WithClock(clk), WithStateFunc(st.fn),
		WithOpener(func(string, int) (Port, error) {
			if fails > 0 { // only the device goroutine calls it
				fails--
				return nil, os.ErrNotExist
			}
			return port, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if s := st.next(t); s.Open || s.Err != os.ErrNotExist.Error() {
		t.Errorf("state %+v, want the open error", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for _, wait := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		wait *= time.Second
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clk.Advance(wait - time.Millisecond)
		if clk.Pending() != 1 {
			t.Fatalf("re-opened before %v", wait)
		}
		clk.Advance(time.Millisecond)
	}
	if s := st.next(t); !s.Open {
		t.Errorf("state %+v, want open", s)
	}
	// The same error again and again was reported once.
	if n := len(st); n != 0 {
		t.Errorf("%d state changes too many", n)
	}
}

// A failed write means the device is gone, as a failed read does.
func TestWriteErrorReopens(t *testing.T) {
	first, second := &brokenPort{fakePort: newFakePort()}, newFakePort()
	st := make(states, 8)
	b, err := Listen(Config{Device: "/dev/fake", Listen: "127.0.0.1:0"}, quiet(),
		WithOpener(opener(first, second)), WithBackoff(time.Millisecond, time.Millisecond), WithStateFunc(st.fn))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st.wait(t, true)
	c := dial(t, b)
	c.expect("Keyboard: yours.")
	c.send("a")
	c.expect("console device gone (input/output error)")
	if s := st.wait(t, false); s.Err != "input/output error" {
		t.Errorf("state %+v, want the write's error", s)
	}
	c.expect("console device back")
	c.send("b")
	second.expectTyped(t, "b")
}

type brokenPort struct{ *fakePort }

func (brokenPort) Write([]byte) (int, error) { return 0, errors.New("input/output error") }

func TestLogRotates(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "console.log")
	b, port := listenFake(t, Config{LogFile: logFile, LogMax: 10, History: 8})
	c := dial(t, b)
	c.expect("Keyboard")
	port.print(t, "0123456789")
	c.expect("0123456789")
	port.print(t, "abcdef")
	c.expect("abcdef")
	late := dial(t, b)
	if got := late.expect("ef"); !strings.Contains(got, "last 8 bytes ---\r\n89abcdef") {
		t.Errorf("history %q, want the last 8 bytes", got)
	}
	b.Close()
	old, _ := os.ReadFile(logFile + ".1")
	cur, _ := os.ReadFile(logFile)
	if string(old) != "0123456789" || string(cur) != "abcdef" {
		t.Fatalf("rotated %q, current %q", old, cur)
	}
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen(Config{Listen: "127.0.0.1:0"}, quiet()); err == nil || !strings.HasPrefix(err.Error(), "console: ") {
		t.Errorf("no device: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(Config{Device: "/dev/fake", Listen: ln.Addr().String()}, quiet(), WithOpener(opener()))
	if err == nil || !strings.Contains(err.Error(), "console: listen") {
		t.Errorf("port taken: %v", err)
	}
}

// A client that stops reading loses output; the router and the other
// clients do not wait for it.
func TestSlowClient(t *testing.T) {
	b, port := listenFake(t, Config{})
	slow := dial(t, b)
	slow.conn.(*net.TCPConn).SetReadBuffer(4096) // so the kernel cannot take it all
	slow.expect("Keyboard")
	fast := dial(t, b)
	fast.expect("Keyboard")
	line := strings.Repeat("x", 4000) + "\r\n"
	for range 8 * outQueue { // more than the queue and the socket buffers hold
		port.print(t, line)
		fast.expect(line)
	}
	port.print(t, "END")
	fast.expect("END")
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.clients {
		if (c.lost > 0) != (c.id == 1) {
			t.Errorf("client %d lost %d chunks; only the slow one should", c.id, c.lost)
		}
	}
}
