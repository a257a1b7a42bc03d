//go:build linux

package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultInterface is the interface pppd makes first.
const DefaultInterface = "ppp0"

// netlinkWatch is ifaceWatch over rtnetlink multicast groups. The
// subscriptions are opened before the dialer starts, so no change is missed;
// every notification triggers a fresh look at the interface.
type netlinkWatch struct {
	name     string
	done     chan struct{}
	links    chan netlink.LinkUpdate
	addrs    chan netlink.AddrUpdate
	changed  chan struct{} // one token per batch of notifications
	goneCh   chan struct{}
	final    atomic.Pointer[Counters] // set from the deletion notice
	index    int
	loopDone chan struct{}
	readyIdx chan int
}

var errWatchEnded = errors.New("netlink notifications ended")

func watchInterface(name string) (ifaceWatch, error) {
	w := &netlinkWatch{
		name:     name,
		done:     make(chan struct{}),
		links:    make(chan netlink.LinkUpdate),
		addrs:    make(chan netlink.AddrUpdate),
		changed:  make(chan struct{}, 1),
		goneCh:   make(chan struct{}),
		loopDone: make(chan struct{}),
		readyIdx: make(chan int),
	}
	if err := netlink.LinkSubscribeWithOptions(w.links, w.done, netlink.LinkSubscribeOptions{}); err != nil {
		close(w.done)
		return nil, fmt.Errorf("subscribe to links: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(w.addrs, w.done, netlink.AddrSubscribeOptions{}); err != nil {
		close(w.done)
		for range w.links {
		}
		return nil, fmt.Errorf("subscribe to addresses: %w", err)
	}
	go w.loop()
	return w, nil
}

// loop turns notifications into wake-ups, and notices the ready interface's
// deletion. It drains both channels until the library closes them.
func (w *netlinkWatch) loop() {
	defer close(w.loopDone)
	links, addrs := w.links, w.addrs
	index := 0
	for links != nil || addrs != nil {
		select {
		case i := <-w.readyIdx:
			index = i
		case u, ok := <-links:
			if !ok {
				links = nil
				continue
			}
			if index != 0 && u.Header.Type == unix.RTM_DELLINK && int(u.Index) == index {
				// The deletion notice carries the device's last counters:
				// the only record of the bytes once it is gone.
				if st := u.Link.Attrs().Statistics; st != nil {
					w.final.Store(&Counters{RxBytes: st.RxBytes, TxBytes: st.TxBytes})
				}
				close(w.goneCh)
				index = 0
			}
			w.poke()
		case _, ok := <-addrs:
			if !ok {
				addrs = nil
				continue
			}
			w.poke()
		}
	}
}

func (w *netlinkWatch) poke() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *netlinkWatch) ready(ctx context.Context, exited <-chan struct{}) (linkInfo, error) {
	for {
		info, ok, err := inspect(w.name)
		if err != nil {
			return linkInfo{}, err
		}
		if ok {
			// Hand the index over before looking again, so that a deletion
			// is either seen now or notified to the loop later.
			select {
			case w.readyIdx <- info.index:
			case <-w.loopDone:
				return linkInfo{}, errWatchEnded
			}
			// It could have gone between inspect and readyIdx: look again.
			if _, err := netlink.LinkByIndex(info.index); err != nil {
				return linkInfo{}, fmt.Errorf("%s vanished as it came up", w.name)
			}
			return info, nil
		}
		select {
		case <-w.changed:
		case <-w.loopDone:
			return linkInfo{}, errWatchEnded
		case <-exited:
			return linkInfo{}, fmt.Errorf("dialer exited before %s was up with an IPv4 address", w.name)
		case <-ctx.Done():
			return linkInfo{}, fmt.Errorf("%s not up with an IPv4 address: %w", w.name, ctx.Err())
		}
	}
}

func (w *netlinkWatch) gone() <-chan struct{} { return w.goneCh }

func (w *netlinkWatch) lastCounts() (Counters, bool) {
	if c := w.final.Load(); c != nil {
		return *c, true
	}
	return Counters{}, false
}

func (w *netlinkWatch) waitGone(ctx context.Context) error {
	for {
		_, err := netlink.LinkByName(w.name)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-w.changed:
		case <-w.loopDone:
			return errWatchEnded
		case <-ctx.Done():
			return fmt.Errorf("%s still exists: %w", w.name, ctx.Err())
		}
	}
}

func (w *netlinkWatch) close() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.loopDone
}

// inspect reports whether name is up, running and has an IPv4 address. A
// PPP link's operstate reads UNKNOWN, so the flags are what count.
func inspect(name string) (linkInfo, bool, error) {
	lk, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return linkInfo{}, false, nil
	}
	if err != nil {
		return linkInfo{}, false, fmt.Errorf("look up %s: %w", name, err)
	}
	a := lk.Attrs()
	if a.RawFlags&unix.IFF_UP == 0 || a.RawFlags&unix.IFF_RUNNING == 0 {
		return linkInfo{}, false, nil
	}
	addrs, err := netlink.AddrList(lk, netlink.FAMILY_V4)
	if err != nil {
		return linkInfo{}, false, fmt.Errorf("addresses of %s: %w", name, err)
	}
	for _, ad := range addrs {
		local, ok := netip.AddrFromSlice(ad.IP.To4())
		if !ok {
			continue
		}
		info := linkInfo{name: name, index: a.Index, local: local}
		if ad.Peer != nil {
			if p, ok := netip.AddrFromSlice(ad.Peer.IP.To4()); ok && p != local {
				info.peer = p
			}
		}
		return info, true, nil
	}
	return linkInfo{}, false, nil
}

func hostRoute(dst netip.Addr, index int) *netlink.Route {
	return &netlink.Route{
		LinkIndex: index,
		Dst:       &net.IPNet{IP: dst.AsSlice(), Mask: net.CIDRMask(32, 32)},
		Scope:     netlink.SCOPE_LINK,
	}
}

// addHostRoute adds dst/32 via the interface. added is false when a route
// to dst/32 via that interface already existed.
func addHostRoute(dst netip.Addr, li linkInfo) (added bool, err error) {
	err = netlink.RouteAdd(hostRoute(dst, li.index))
	if errors.Is(err, unix.EEXIST) {
		rs, lerr := netlink.RouteListFiltered(netlink.FAMILY_V4, hostRoute(dst, li.index), netlink.RT_FILTER_DST|netlink.RT_FILTER_OIF)
		if lerr == nil && len(rs) > 0 {
			return false, nil
		}
		return false, fmt.Errorf("another route to %s/32 exists: %w", dst, err)
	}
	return err == nil, err
}

// delHostRoute removes dst/32 via the interface; a route already gone (it
// goes with its interface) is not an error.
func delHostRoute(dst netip.Addr, li linkInfo) error {
	err := netlink.RouteDel(hostRoute(dst, li.index))
	if err == nil || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}

// delHostRouteByName is delHostRoute for Cleanup, which knows only names.
func delHostRouteByName(dst netip.Addr, ifname string) error {
	lk, err := netlink.LinkByName(ifname)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil // the route went with the interface
	}
	if err != nil {
		return err
	}
	return delHostRoute(dst, linkInfo{name: ifname, index: lk.Attrs().Index})
}

// routeInterface asks the kernel which interface it would send to dst
// through, like `ip route get`, deliberately without naming an interface.
func routeInterface(dst netip.Addr) (string, error) {
	rs, err := netlink.RouteGet(dst.AsSlice())
	if err != nil {
		return "", err
	}
	if len(rs) == 0 {
		return "", fmt.Errorf("no route")
	}
	lk, err := netlink.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		return "", fmt.Errorf("interface %d: %w", rs[0].LinkIndex, err)
	}
	return lk.Attrs().Name, nil
}

// boundDialer binds every socket to the interface with SO_BINDTODEVICE,
// which, unlike binding the local address, forces the egress interface.
func boundDialer(li linkInfo) *net.Dialer {
	name := li.name
	return &net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.BindToDevice(int(fd), name)
			}); err != nil {
				return err
			}
			if serr != nil {
				return fmt.Errorf("bind to %s: %w", name, serr)
			}
			return nil
		},
	}
}

func readCounters(li linkInfo) (Counters, error) {
	lk, err := netlink.LinkByIndex(li.index)
	if err != nil {
		return Counters{}, err
	}
	st := lk.Attrs().Statistics
	if st == nil {
		return Counters{}, errors.New("no statistics")
	}
	return Counters{RxBytes: st.RxBytes, TxBytes: st.TxBytes}, nil
}

func interfaceExists(name string) (bool, error) {
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	return err == nil, err
}

// routeChanges signals every change of the routing table until stop.
func routeChanges() (<-chan struct{}, func(), error) {
	updates := make(chan netlink.RouteUpdate, 16)
	done := make(chan struct{})
	if err := netlink.RouteSubscribe(updates, done); err != nil {
		return nil, nil, err
	}
	out := make(chan struct{}, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for range updates { // closed by netlink once done is closed
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out, func() { close(done); <-finished }, nil
}
