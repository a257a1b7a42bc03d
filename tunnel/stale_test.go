package tunnel_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// blackholeDialer dials plain TCP, and on cut() makes every connection it
// made go silent the way a dead PPP link does: reads and writes hang, and a
// Close sends no FIN (the real socket stays open until the test ends), so
// the jump host only learns of it through its ClientAlive probes.
type blackholeDialer struct {
	t     *testing.T
	mu    sync.Mutex
	conns []*blackholeConn
	cutCh chan struct{}
}

func newBlackholeDialer(t *testing.T) *blackholeDialer {
	d := &blackholeDialer{t: t, cutCh: make(chan struct{})}
	t.Cleanup(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, c := range d.conns {
			c.Conn.Close()
		}
	})
	return d
}

func (d *blackholeDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := netDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	bc := &blackholeConn{Conn: c, cut: d.cutCh, closed: make(chan struct{})}
	d.conns = append(d.conns, bc)
	return bc, nil
}

// cut silences the connections made so far; later ones work.
func (d *blackholeDialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.cutCh)
	d.cutCh = make(chan struct{})
}

type blackholeConn struct {
	net.Conn
	cut       chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *blackholeConn) isCut() bool {
	select {
	case <-c.cut:
		return true
	default:
		return false
	}
}

func (c *blackholeConn) hang() error {
	<-c.closed
	return net.ErrClosed
}

func (c *blackholeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.isCut() {
		return 0, c.hang()
	}
	return n, err
}

func (c *blackholeConn) Write(p []byte) (int, error) {
	if c.isCut() {
		return 0, c.hang()
	}
	return c.Conn.Write(p)
}

func (c *blackholeConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	if c.isCut() {
		// No FIN over a dead link; but a read blocked in the real socket
		// (a jump host that never speaks again) must end.
		c.Conn.SetDeadline(time.Now())
		return nil
	}
	return c.Conn.Close()
}

// TestOpenSSHStalePortRetried: the link dies without a goodbye; the agent
// reconnects at once, but sshd still holds the forwarded port for the dead
// session until its ClientAlive probes give up. The refused forward is
// retried until the port is free, and the forward comes back.
func TestOpenSSHStalePortRetried(t *testing.T) {
	jump, port := startJump(t, restricted) // ClientAliveInterval 1s, CountMax 2
	box := startServer(t, bannerThenEcho)
	ev := newEvents()
	cfg := jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()})
	cfg.Keepalive = 300 * time.Millisecond
	d := newBlackholeDialer(t)
	tun := startTunnelVia(t, cfg, d.dial, tunnel.WithEvents(ev.fn),
		tunnel.WithBackoff(100*time.Millisecond, time.Second), tunnel.WithForwardRetry(30*time.Second))
	ev.next(t, tunnel.StateUp)
	d.cut()
	cutAt := time.Now()
	ev.next(t, tunnel.StateDown)
	up := ev.next(t, tunnel.StateUp)
	if up.Forwards[0].BoundPort != port {
		t.Fatalf("forward came back on %d, want %d", up.Forwards[0].BoundPort, port)
	}
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("forward back %v after the link was cut", time.Since(cutAt).Round(time.Millisecond))
	if !jump.sshd.WaitLog(context.Background(), "Timeout, client not responding") {
		t.Fatal("sshd never timed the dead session out")
	}
}
