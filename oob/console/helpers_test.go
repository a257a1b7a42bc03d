package console

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// patience bounds every wait for something that should happen at once;
// it is a failure deadline, never a way to let time pass.
const patience = 10 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start is the fake clocks' start.
var start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakePort is a console device in memory: the test prints as the router
// with print and sees what the bridge sent in typed and breaks.
type fakePort struct {
	r      *io.PipeReader
	w      *io.PipeWriter
	typed  chan []byte
	breaks chan struct{}

	mu       sync.Mutex // guards breakErr
	breakErr error
}

func newFakePort() *fakePort {
	r, w := io.Pipe()
	return &fakePort{r: r, w: w, typed: make(chan []byte, 64), breaks: make(chan struct{}, 8)}
}

func (p *fakePort) Read(b []byte) (int, error) { return p.r.Read(b) }

func (p *fakePort) Write(b []byte) (int, error) {
	p.typed <- bytes.Clone(b)
	return len(b), nil
}

func (p *fakePort) Close() error { return p.r.CloseWithError(os.ErrClosed) }

func (p *fakePort) SendBreak() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.breakErr != nil {
		return p.breakErr
	}
	p.breaks <- struct{}{}
	return nil
}

// failBreaks makes every later SendBreak fail with err.
func (p *fakePort) failBreaks(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.breakErr = err
}

func (p *fakePort) print(t *testing.T, s string) {
	t.Helper()
	if _, err := p.w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// expectTyped reads what reached the router until it is exactly want.
func (p *fakePort) expectTyped(t *testing.T, want string) {
	t.Helper()
	var got []byte
	for len(got) < len(want) {
		select {
		case b := <-p.typed:
			got = append(got, b...)
		case <-time.After(patience):
			t.Fatalf("the router got %q, want %q", got, want)
		}
	}
	if string(got) != want {
		t.Fatalf("the router got %q, want %q", got, want)
	}
}

// listenFake starts a bridge on a fake device and waits until it is open,
// so that what a client types from then on reaches it.
func listenFake(t *testing.T, cfg Config, opts ...Option) (*Bridge, *fakePort) {
	t.Helper()
	port := newFakePort()
	st := make(states, 4)
	cfg.Device, cfg.Listen = "/dev/fake", "127.0.0.1:0"
	b, err := Listen(cfg, quiet(), append(opts, WithOpener(opener(port)), WithStateFunc(st.fn))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	st.wait(t, true)
	return b, port
}

// opener returns the ports in turn, then fails.
func opener(ports ...Port) Opener {
	var mu sync.Mutex
	return func(string, int) (Port, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(ports) == 0 {
			return nil, os.ErrNotExist
		}
		p := ports[0]
		ports = ports[1:]
		return p, nil
	}
}

// states collects the bridge's state changes.
type states chan State

func (s states) fn(st State) { s <- st }

// next returns the next state change.
func (s states) next(t *testing.T) State {
	t.Helper()
	select {
	case st := <-s:
		return st
	case <-time.After(patience):
		t.Fatal("no state change")
		return State{}
	}
}

// wait returns the next state change with Open == open, passing over
// others (a new reason the device is still not open).
func (s states) wait(t *testing.T, open bool) State {
	t.Helper()
	for {
		if st := s.next(t); st.Open == open {
			return st
		}
	}
}

// term is a TCP client of the bridge; it keeps everything it read, so a
// test can check what came in what order.
type term struct {
	t    *testing.T
	conn net.Conn
	buf  []byte
	seen int // buf[:seen] has been matched by expect
}

func dial(t *testing.T, b *Bridge) *term {
	t.Helper()
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &term{t: t, conn: c}
}

// expect reads until want appears after what was matched before, and
// returns the text up to and including it.
func (m *term) expect(want string) string {
	m.t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(patience))
	chunk := make([]byte, 4096)
	for {
		if i := strings.Index(string(m.buf[m.seen:]), want); i >= 0 {
			got := string(m.buf[m.seen : m.seen+i+len(want)])
			m.seen += i + len(want)
			return got
		}
		n, err := m.conn.Read(chunk)
		m.buf = append(m.buf, chunk[:n]...)
		if err != nil {
			m.t.Fatalf("reading for %q: %v (after the last match: %q)", want, err, m.buf[m.seen:])
		}
	}
}

// eof reads until the bridge closes the connection.
func (m *term) eof() {
	m.t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, m.conn)
	if err != nil {
		m.t.Fatalf("want the connection closed, got %v", err)
	}
}

func (m *term) send(s string) {
	m.t.Helper()
	if _, err := m.conn.Write([]byte(s)); err != nil {
		m.t.Fatal(err)
	}
}

// transcript is everything the client saw, for the test log.
func (m *term) transcript() string {
	s := strings.ReplaceAll(string(m.buf), "\r\n", "\n")
	return strings.ReplaceAll(s, string(telnetOffer), "")
}

// router is the far end of a pseudo-terminal, found by the bridge through
// a symlink as it would find /dev/serial/by-id/usb-…: a re-plug is a new
// pty behind the same link.
type router struct {
	t      *testing.T
	link   string
	master *os.File
	buf    []byte
	seen   int
}

func newRouter(t *testing.T) *router {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "by-id")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &router{t: t, link: filepath.Join(dir, "usb-FTDI_FT232R_A50285BI-if00-port0")}
	r.plug()
	t.Cleanup(func() { r.master.Close() })
	return r
}

// plug makes a new pty and points the link at it.
func (r *router) plug() {
	r.t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		r.t.Skipf("no pty: %v", err)
	}
	name := slave.Name()
	slave.Close() // the bridge opens it by the link
	if err := os.Symlink(name, r.link); err != nil {
		r.t.Fatal(err)
	}
	r.master, r.buf, r.seen = pollable(r.t, master), nil, 0
}

// pollable returns f on a non-blocking descriptor in Go's poller, so that
// read deadlines work and Close takes effect at once. creack/pty leaves
// the master in blocking mode.
func pollable(t *testing.T, f *os.File) *os.File {
	t.Helper()
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// unplug removes the link and closes the pty: the bridge's next read fails.
func (r *router) unplug() {
	r.t.Helper()
	if err := os.Remove(r.link); err != nil {
		r.t.Fatal(err)
	}
	r.master.Close()
}

func (r *router) print(s string) {
	r.t.Helper()
	if _, err := r.master.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// expect reads what the bridge typed until want appears, and returns all
// of it since the last match.
func (r *router) expect(want string) string {
	r.t.Helper()
	if err := r.master.SetReadDeadline(time.Now().Add(patience)); err != nil {
		r.t.Fatal(err)
	}
	chunk := make([]byte, 1024)
	for {
		if i := strings.Index(string(r.buf[r.seen:]), want); i >= 0 {
			got := string(r.buf[r.seen : r.seen+i+len(want)])
			r.seen += i + len(want)
			return got
		}
		n, err := r.master.Read(chunk)
		r.buf = append(r.buf, chunk[:n]...)
		if err != nil {
			r.t.Fatalf("router reading for %q: %v (have %q)", want, err, r.buf[r.seen:])
		}
	}
}
