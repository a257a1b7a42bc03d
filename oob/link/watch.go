package link

import (
	"context"
	"net/netip"
)

// linkInfo is the dialer's interface once it is ready.
type linkInfo struct {
	name  string
	index int
	local netip.Addr
	peer  netip.Addr // not read on FreeBSD
}

// ifaceWatch follows one interface by name, from before the dialer starts
// until the session ends: through the kernel's link and address
// notifications on Linux, by polling on FreeBSD.
type ifaceWatch interface {
	// ready waits until the interface is up, running and has an IPv4
	// address, the dialer exits, or ctx ends.
	ready(ctx context.Context, exited <-chan struct{}) (linkInfo, error)
	// gone is closed once the interface ready returned has disappeared.
	gone() <-chan struct{}
	// lastCounts are the interface's byte counters as the kernel reported
	// them when it deleted the interface (false before, or if it did not:
	// FreeBSD does not).
	lastCounts() (Counters, bool)
	// waitGone waits until no interface has the name.
	waitGone(ctx context.Context) error
	close()
}
