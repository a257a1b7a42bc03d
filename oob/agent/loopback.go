package agent

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/oobd/oobd/oob/session"
)

// LoopbackLink stands in for the cellular link where there is none (the
// demo): no dialer, no host route, no device binding. Connections go out
// over whatever route the machine has; their bytes are counted so the
// session's figures and data budget still work.
type LoopbackLink struct{}

// Up returns at once: there is nothing to dial.
func (LoopbackLink) Up(ctx context.Context) (session.Path, error) {
	return &loopbackPath{done: make(chan struct{})}, nil
}

type loopbackPath struct {
	done  chan struct{}
	bytes atomic.Uint64
}

func (p *loopbackPath) Interface() string     { return "lo" }
func (p *loopbackPath) LocalIP() string       { return "127.0.0.1" }
func (p *loopbackPath) Done() <-chan struct{} { return p.done }
func (p *loopbackPath) Err() error            { return nil }
func (p *loopbackPath) Bytes() uint64         { return p.bytes.Load() }
func (p *loopbackPath) Down(context.Context) error {
	return nil
}

func (p *loopbackPath) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &p.bytes}, nil
}

// countingConn adds what passes through it to n.
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(uint64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(uint64(n))
	return n, err
}
