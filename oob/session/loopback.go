package session

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/oobd/oobd/tunnel"
)

// Loopback stands in for the cellular link where there is none (the demo,
// and tests that need no root): no dialer, no host route, no device
// binding. Its connections go out over whatever route the machine has;
// they count their bytes, so the session's figures and data budget still
// work.
type Loopback struct{}

var _ Link = Loopback{}

// Up returns at once: there is nothing to dial.
func (Loopback) Up(ctx context.Context) (Path, error) {
	return &loopbackPath{done: make(chan struct{})}, nil
}

type loopbackPath struct {
	done chan struct{} // never closed: a loopback does not drop
	// sent and received are the totals of the path's connections.
	sent, received atomic.Int64
}

func (p *loopbackPath) Interface() string          { return "lo" }
func (p *loopbackPath) LocalIP() netip.Addr        { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }
func (p *loopbackPath) Done() <-chan struct{}      { return p.done }
func (p *loopbackPath) Err() error                 { return nil }
func (p *loopbackPath) Down(context.Context) error { return nil }

func (p *loopbackPath) Bytes() (rx, tx uint64) {
	return uint64(p.received.Load()), uint64(p.sent.Load())
}

func (p *loopbackPath) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &tunnel.CountingConn{Conn: c, Sent: &p.sent, Received: &p.received}, nil
}
