package link

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Path is a link that is up and proven to carry traffic to the jump host:
// the handle a session holds while it lasts.
type Path struct {
	link     *Link
	t        *try
	watcher  ifaceWatch // t.watch, kept for Bytes after teardown
	jumpHost string     // as configured: host:port
	jump     netip.AddrPort
	dialer   *net.Dialer

	done     chan struct{} // closed when the path has ended: drop or Down
	stopping chan struct{} // closed by Down, to end watch
	monitor  chan struct{} // closed when watch has returned
	err      atomic.Pointer[error]
	downOnce sync.Once
	downErr  error // set in downOnce

	mu   sync.Mutex // guards last
	last byteCounts // the last counts read, for after the interface is gone
}

func newPath(t *try, d *net.Dialer, jump netip.AddrPort) *Path {
	p := &Path{
		link:     t.link,
		t:        t,
		watcher:  t.watch,
		jumpHost: t.link.cfg.JumpHost,
		jump:     jump,
		dialer:   d,
		done:     make(chan struct{}),
		stopping: make(chan struct{}),
		monitor:  make(chan struct{}),
	}
	go p.watch()
	return p
}

// Interface is the link's interface, e.g. ppp0.
func (p *Path) Interface() string { return p.t.info.name }

// LocalIP is the link's own address.
func (p *Path) LocalIP() netip.Addr { return p.t.info.local }

// PeerIP is the link's point-to-point peer; invalid when the interface has
// none.
func (p *Path) PeerIP() netip.Addr { return p.t.info.peer }

// JumpAddr is the jump host's address as the path proof resolved and
// pinned it, with its port.
func (p *Path) JumpAddr() netip.AddrPort { return p.jump }

// DialerPID is the up command's process ID (its process group's too).
func (p *Path) DialerPID() int { return p.t.dialer.pid() }

// DialContext dials through the link only: the socket is bound to it and
// names are asked of the link's DNS servers over it. The jump host, named
// as configured, is dialed at the address the path proof resolved and
// pinned, not looked up again: a round-robin name could answer with an
// address the host route does not cover.
func (p *Path) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr == p.jumpHost {
		addr = p.jump.String()
	}
	return p.dialer.DialContext(ctx, network, addr)
}

// Rebind makes c, a connection dialed through an earlier path (the
// tunnel's, kept across a redial), leave through this one, as the sockets
// DialContext makes do. On Linux that binds its socket to the new
// interface; where sockets are bound to the link's address (FreeBSD)
// there is nothing to do.
func (p *Path) Rebind(c net.Conn) error { return p.link.os.rebind(c, p.t.info) }

// Done is closed when the path has ended: the link dropped, or Down.
func (p *Path) Done() <-chan struct{} { return p.done }

// Err is nil while the path lasts, then a *DropError if the link dropped,
// or ErrDown.
func (p *Path) Err() error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Bytes are the bytes received and sent through the link: read now while
// the interface is there, else the best known: counters only grow, so the
// larger of the kernel's deletion notice's (a veth's has no rx) and the
// last read.
func (p *Path) Bytes() (rx, tx uint64) {
	c := p.counts()
	return c.RxBytes, c.TxBytes
}

func (p *Path) counts() byteCounts {
	c, err := p.link.os.counters(p.t.info)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.last = c
		return c
	}
	best := p.last
	if final, ok := p.watcher.lastCounts(); ok {
		best = byteCounts{RxBytes: max(final.RxBytes, best.RxBytes), TxBytes: max(final.TxBytes, best.TxBytes)}
	}
	p.link.log.Debug("link: counters not readable, using the last known", "interface", p.t.info.name, "err", err)
	return best
}

// Down ends the path: removes the host route, stops the dialer (SIGTERM
// to its group, SIGKILL after the grace period), waits for the interface
// to go and clears the journal. What it cannot undo the link cleans up
// before its next dial. The tunnel is the caller's to close first. Down is
// idempotent; it also follows a drop.
func (p *Path) Down(ctx context.Context) error {
	p.downOnce.Do(func() {
		close(p.stopping)
		<-p.monitor
		p.counts() // the final counts, before the interface goes
		p.downErr = p.t.teardown(ctx)
		e := ErrDown
		p.err.CompareAndSwap(nil, &e)
		select {
		case <-p.done:
		default:
			close(p.done)
		}
	})
	return p.downErr
}

// watch reports a drop: the dialer exiting or the interface going. The
// two come together when the carrier hangs up (the kernel removes the
// interface as the dialer goes), in either order; each waits a moment for
// the other, so that the drop says why and knows the last counters.
func (p *Path) watch() {
	defer close(p.monitor)
	var reason string
	select {
	case <-p.stopping:
		return
	case <-p.t.dialer.exited:
		reason = "dialer exited"
		p.await(p.watcher.gone())
	case <-p.watcher.gone():
		reason = "interface gone"
		if p.await(p.t.dialer.exited) {
			reason = "dialer exited"
		}
	}
	p.counts() // the last counts: from the deletion notice, or read now
	e := error(&DropError{Reason: reason, DialerStatus: p.t.dialer.status(), DialerOutput: p.t.dialer.lastLines()})
	p.link.log.Warn("link: dropped", "interface", p.t.info.name, "err", e)
	p.err.Store(&e)
	close(p.done)
}

// await waits up to the link's dropSettle for ch, or until Down.
func (p *Path) await(ch <-chan struct{}) bool {
	t := time.NewTimer(p.link.dropSettle)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-p.stopping:
	}
	return false
}

// UpTimes are how long the try that made this path took to dial (the
// dialer's start to the interface up and addressed) and to prove the
// path (resolve, route, check, probe).
func (p *Path) UpTimes() (dial, prove time.Duration) { return p.t.dialTook, p.t.proveTook }
