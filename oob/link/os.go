package link

import (
	"context"
	"net"
	"net/netip"
	"syscall"
)

// osLink is the operating system as the link uses it: the interface, the
// routing table, bound sockets, counters and other processes. newOSLink
// (sys_linux.go, sys_freebsd.go) makes the real one; the tests put a fake
// in Link.os. Starting and stopping the link's own dialer is plain
// os/exec (dialer.go) and not part of it.
type osLink interface {
	// watch follows the interface called name, from before the dialer
	// starts until close.
	watch(name string) (ifaceWatch, error)
	// addRoute installs dst/32 via li. added is false when that route was
	// there already (then it is not the link's to remove).
	addRoute(dst netip.Addr, li linkInfo) (added bool, err error)
	// delRoute removes dst/32 via ifname; a route already gone, or an
	// interface gone with its routes, is not an error.
	delRoute(dst netip.Addr, ifname string) error
	// routeVia asks the kernel which interface it would send to dst
	// through, never naming one.
	routeVia(dst netip.Addr) (string, error)
	// routeChanges signals changes of the routing table until stop, which
	// returns once everything it started has ended.
	routeChanges() (changes <-chan struct{}, stop func(), err error)
	// dialer returns a dialer whose sockets leave through li only.
	dialer(li linkInfo) *net.Dialer
	// rebind makes c, dialed through an earlier link, leave through li
	// as dialer's sockets do.
	rebind(c net.Conn, li linkInfo) error
	// counters reads li's byte counters.
	counters(li linkInfo) (byteCounts, error)
	// processes lists every process, zombies included.
	processes() ([]procInfo, error)
	// signalGroup sends sig to process group pgid and, when lead is not
	// nil, to lead itself, but only while lead is still that process (PID
	// and start time); sent is false when lead is gone or another.
	signalGroup(pgid int, lead *procInfo, sig syscall.Signal) (sent bool, err error)
}

// ifaceWatch follows one interface by name: through the kernel's link and
// address notifications on Linux, by polling on FreeBSD.
type ifaceWatch interface {
	// present reports whether an interface holds the name now.
	present() (bool, error)
	// ready waits until the interface is up, running and has an IPv4
	// address, the dialer exits, or ctx ends.
	ready(ctx context.Context, exited <-chan struct{}) (linkInfo, error)
	// gone is closed once the interface ready returned has disappeared.
	gone() <-chan struct{}
	// lastCounts are the counters the kernel reported as it deleted the
	// interface (false before, or if it does not: FreeBSD).
	lastCounts() (byteCounts, bool)
	// waitGone waits until no interface holds the name.
	waitGone(ctx context.Context) error
	// close ends the watch and waits for everything it started.
	close()
}

// linkInfo is the dialer's interface once it is ready.
type linkInfo struct {
	name  string
	index int // 0 where the OS does not say (FreeBSD)
	local netip.Addr
	peer  netip.Addr // invalid when the interface has no peer address
}

// byteCounts are the bytes through the link's interface.
type byteCounts struct {
	RxBytes, TxBytes uint64
}

// procInfo is one process as the OS lists it.
type procInfo struct {
	pid, pgid int
	start     string // as in Process.StartTime
	zombie    bool   // exited, not yet reaped: holds its PID, runs nothing
}
