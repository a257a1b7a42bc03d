package tunnel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/tunnel"
	"github.com/oobd/oobd/tunnel/jumphost"
)

// Suspend and Resume against the in-process jump host, on loopback: the
// "new link" is the same loopback, and the tests say which address it has.
// The real thing (a new ppp0, SO_BINDTODEVICE, OpenSSH's ClientAlive) is
// in redial_linux_test.go.

var loopback = netip.MustParseAddr("127.0.0.1")

// dialLog wraps a dial function and remembers every connection it made.
type dialLog struct {
	dial tunnel.DialFunc
	mu   sync.Mutex
	made []net.Conn
}

func (d *dialLog) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.made = append(d.made, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialLog) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.made)
}

func (d *dialLog) first() net.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.made[0]
}

// rebinds records what Path.Rebind was given.
type rebinds struct {
	mu  sync.Mutex
	got []net.Conn
}

func (r *rebinds) Rebind(c net.Conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
	return nil
}

func (r *rebinds) all() []net.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]net.Conn(nil), r.got...)
}

// echoes checks that a forwarded connection still carries traffic both ways.
func echoes(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitBound))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write through the held connection: %v", err)
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != msg {
		t.Fatalf("echo through the held connection: %q %v", b, err)
	}
}

// heldConn connects to the forward at the jump host and reads the local
// target's banner: an owner's session, open across the redial.
func heldConn(t *testing.T, port int) net.Conn {
	t.Helper()
	c := jumpSide(t, port)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitBound))
	if err := readBanner(c); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len("fake_1.0\r\n"))); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// TestResumeKeepsTheConnection: the new link has the address the old one
// had, and the connection answers through it: it is kept with its
// forward, and the owner's connection through it carries on.
func TestResumeKeepsTheConnection(t *testing.T) {
	box := startServer(t, bannerThenEcho)
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: box.Addr()})
	d := &dialLog{dial: dial}
	tun := startTunnelVia(t, cfg, d.Dial)
	port := tun.Forwards()[0].BoundPort
	owner := heldConn(t, port)

	if err := tun.Suspend(); err != nil {
		t.Fatal(err)
	}
	if st := tun.Status(); st.State != tunnel.StateSuspended || len(st.Forwards) != 0 {
		t.Fatalf("status while suspended: %+v", st)
	}
	if _, err := tun.SelfCheck(context.Background()); err == nil {
		t.Fatal("self-check passed while suspended")
	}
	rb := &rebinds{}
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: d.Dial, LocalIP: loopback, Rebind: rb.Rebind}); err != nil {
		t.Fatal(err)
	}
	if got := rb.all(); len(got) != 1 || got[0] != d.first() {
		t.Fatalf("rebound %v, want the connection the first dial made", got)
	}
	if n := d.count(); n != 1 {
		t.Fatalf("%d connections made, want the first one kept", n)
	}
	st := tun.Status()
	if st.State != tunnel.StateUp || st.Reconnects != 0 || len(st.Forwards) != 1 || st.Forwards[0].BoundPort != port {
		t.Fatalf("status after the resume: %+v", st)
	}
	echoes(t, owner, "still here")
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestResumeOtherAddressReconnects: the new link has another address:
// the old connection is let go without a probe and the tunnel connects
// through the new dial function.
func TestResumeOtherAddressReconnects(t *testing.T) {
	box := startServer(t, bannerThenEcho)
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: box.Addr()})
	old, fresh := &dialLog{dial: dial}, &dialLog{dial: dial}
	tun := startTunnelVia(t, cfg, old.Dial, tunnel.WithBackoff(50*time.Millisecond, 500*time.Millisecond))
	port := tun.Forwards()[0].BoundPort
	owner := heldConn(t, port)
	if err := tun.Suspend(); err != nil {
		t.Fatal(err)
	}
	rb := &rebinds{}
	other := netip.MustParseAddr("127.0.0.2")
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: fresh.Dial, LocalIP: other, Rebind: rb.Rebind}); err != nil {
		t.Fatal(err)
	}
	if len(rb.all()) != 0 || old.count() != 1 || fresh.count() != 1 {
		t.Fatalf("rebinds %d, dials old %d new %d: want the new link dialed, nothing rebound", len(rb.all()), old.count(), fresh.count())
	}
	st := tun.Status()
	if st.State != tunnel.StateUp || st.Reconnects != 1 || st.Forwards[0].BoundPort != port {
		t.Fatalf("status after the resume: %+v (want the port %d asked for again)", st, port)
	}
	owner.SetDeadline(time.Now().Add(waitBound))
	if _, err := owner.Read(make([]byte, 1)); err == nil {
		t.Fatal("the old connection's forwarded connection still reads")
	}
	if got := roundTripEcho(t, port); got != "SSH-2.0-fake_1.0\r\n" {
		t.Fatalf("through the new connection: %q", got)
	}
}

// roundTripEcho connects to the forward and returns the banner line.
func roundTripEcho(t *testing.T, port int) string {
	t.Helper()
	c := jumpSide(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitBound))
	b := make([]byte, len("SSH-2.0-fake_1.0\r\n"))
	n, _ := io.ReadFull(c, b)
	return string(b[:n])
}

// TestResumeDeadConnection: the address is the same, but the connection
// died with the old link (the jump host dropped it meanwhile, and nothing
// of that reached this box): the keepalive goes unanswered within the
// keepalive interval, and the tunnel connects again.
func TestResumeDeadConnection(t *testing.T) {
	box := startServer(t, bannerThenEcho)
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: box.Addr()})
	cfg.Keepalive = 300 * time.Millisecond
	bh := newBlackholeDialer(t)
	d := &dialLog{dial: bh.dial}
	tun := startTunnelVia(t, cfg, d.Dial, tunnel.WithBackoff(50*time.Millisecond, 500*time.Millisecond))
	port := tun.Forwards()[0].BoundPort
	if err := tun.Suspend(); err != nil {
		t.Fatal(err)
	}
	bh.cut()
	jh.DropConnections()
	rb := &rebinds{}
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: d.Dial, LocalIP: loopback, Rebind: rb.Rebind}); err != nil {
		t.Fatal(err)
	}
	if len(rb.all()) != 1 || d.count() != 2 {
		t.Fatalf("rebinds %d, dials %d: want the old connection tried, then a new one", len(rb.all()), d.count())
	}
	reconnectedOn(t, tun, port)
}

// TestResumeRetriesRefusedForward: the old connection went silent with
// the link, and the jump host still holds its forward's port: the new
// connection's forward is refused and asked for again until Resume's
// context ends; the tunnel stays suspended. Once the jump host lets the
// old session go, the next Resume binds the same port.
func TestResumeRetriesRefusedForward(t *testing.T) {
	box := startServer(t, bannerThenEcho)
	port := sshdtest.FreePort(t)
	jh, cfg := inProcess(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()})
	bh := newBlackholeDialer(t)
	tun := startTunnelVia(t, cfg, bh.dial, tunnel.WithBackoff(50*time.Millisecond, 200*time.Millisecond),
		tunnel.WithForwardRetry(50*time.Millisecond))
	if err := tun.Suspend(); err != nil {
		t.Fatal(err)
	}
	bh.cut()
	other := netip.MustParseAddr("127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := tun.Resume(ctx, tunnel.Path{Dial: bh.dial, LocalIP: other})
	fe, ok := asError[*tunnel.ForwardError](err)
	// Asked for again past the forward retry time: Resume's context
	// bounds it.
	if !ok || fe.Port != port || fe.Tries < 3 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("resume: %v, want the forward on port %d refused over and over until the deadline", err, port)
	}
	t.Log(err)
	if st := tun.Status(); st.State != tunnel.StateSuspended || st.Reconnects != 0 {
		t.Fatalf("status after the failed resume: %+v", st)
	}

	jh.DropConnections() // the jump host gives up on the silent session
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: dial, LocalIP: other}); err != nil {
		t.Fatal(err)
	}
	reconnectedOn(t, tun, port)
}

// TestResumeWithoutSuspend: the tunnel had lost its connection by itself
// (it is reconnecting through the old dial function, which fails); Resume
// moves it onto the new one at once.
func TestResumeWithoutSuspend(t *testing.T) {
	box := startServer(t, bannerThenEcho)
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: box.Addr()})
	ev := newEvents()
	// The old dial function works once; then its link is gone.
	var dialed atomic.Bool
	oldDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dialed.Swap(true) {
			return nil, errors.New("the old link is gone")
		}
		return dial(ctx, network, addr)
	}
	// A long backoff: without Resume the tunnel would not try again soon.
	tun := startTunnelVia(t, cfg, oldDial, tunnel.WithEvents(ev.fn), tunnel.WithBackoff(time.Hour, time.Hour))
	ev.next(t, tunnel.StateUp)
	jh.DropConnections()
	ev.next(t, tunnel.StateDown)
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: dial, LocalIP: loopback}); err != nil {
		t.Fatal(err)
	}
	if st := tun.Status(); st.State != tunnel.StateUp || st.Reconnects != 1 {
		t.Fatalf("status after the resume: %+v", st)
	}
}

// TestCloseDuringResume: Close ends a Resume that is still asking for a
// refused forward.
func TestCloseDuringResume(t *testing.T) {
	dir := t.TempDir()
	signer, keyPath := goKey(t, dir, "id")
	jh, err := jumphost.Start(jumphost.WithAuthorizedKeys(signer.PublicKey()), jumphost.WithPermitListen("localhost:*"))
	if err != nil {
		t.Fatal(err)
	}
	defer jh.Close()
	port := sshdtest.FreePort(t)
	cfg := tunnel.Config{
		JumpHost: jh.Addr(), User: "oob", IdentityFile: keyPath,
		KnownHostsFile: writeFile(t, dir, "kh", jh.KnownHostsLine()),
		Forwards:       []tunnel.Forward{{Remote: fmt.Sprintf("localhost:%d", port), Local: "127.0.0.1:22"}},
	}
	bh := newBlackholeDialer(t)
	tun, err := tunnel.New(cfg, bh.dial)
	if err != nil {
		t.Fatal(err)
	}
	if err := tun.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	bh.cut() // the old session keeps the port
	resumed := make(chan error, 1)
	go func() {
		resumed <- tun.Resume(context.Background(), tunnel.Path{Dial: dial, LocalIP: netip.MustParseAddr("127.0.0.2")})
	}()
	tun.Close()
	select {
	case err := <-resumed:
		if err == nil {
			t.Fatal("resume succeeded with the port held")
		}
		t.Log(err)
	case <-time.After(waitBound):
		t.Fatal("Close did not end Resume")
	}
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: dial}); !errors.Is(err, tunnel.ErrClosed) {
		t.Fatalf("resume after Close: %v", err)
	}
	if err := tun.Suspend(); !errors.Is(err, tunnel.ErrClosed) {
		t.Fatalf("suspend after Close: %v", err)
	}
}

func TestResumeNotStarted(t *testing.T) {
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: "127.0.0.1:22"})
	tun, err := tunnel.New(cfg, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if err := tun.Suspend(); err == nil {
		t.Fatal("suspend before Start accepted")
	}
	if err := tun.Resume(context.Background(), tunnel.Path{Dial: dial}); err == nil {
		t.Fatal("resume before Start accepted")
	}
}

// reconnectedOn checks that the tunnel connected once more and bound its
// forward on port again, and that the forward answers end to end.
func reconnectedOn(t *testing.T, tun *tunnel.Tunnel, port int) {
	t.Helper()
	if st := tun.Status(); st.State != tunnel.StateUp || st.Reconnects != 1 || st.Forwards[0].BoundPort != port {
		t.Fatalf("status after the resume: %+v", st)
	}
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}
