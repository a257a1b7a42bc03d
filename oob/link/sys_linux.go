//go:build linux

package link

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linuxOS is osLink over rtnetlink (github.com/vishvananda/netlink), /proc
// and pidfds.
type linuxOS struct{}

func newOSLink() osLink { return linuxOS{} }

// netlinkWatch is ifaceWatch over rtnetlink multicast groups. The
// subscriptions are opened before the dialer starts, so no change is
// missed; every notification triggers a fresh look at the interface.
type netlinkWatch struct {
	name     string
	done     chan struct{} // closed by close: the library then ends its goroutines
	links    chan netlink.LinkUpdate
	addrs    chan netlink.AddrUpdate
	changed  chan struct{} // one token per batch of notifications
	goneCh   chan struct{} // closed by loop on the ready interface's deletion
	readyIdx chan int      // ready hands the interface's index to loop
	loopDone chan struct{} // closed when loop has returned: both channels closed
	final    atomic.Pointer[byteCounts]
	once     sync.Once // guards the closing of done
}

var errWatchEnded = errors.New("netlink notifications ended")

func (linuxOS) watch(name string) (ifaceWatch, error) {
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
		for range w.links { // until the library's reader has ended
		}
		return nil, fmt.Errorf("subscribe to addresses: %w", err)
	}
	go w.loop()
	return w, nil
}

// loop turns notifications into wake-ups, and notices the ready interface's
// deletion. It drains both channels until the library closes them, which
// its readers do as they end (once done is closed), so that close, which
// waits for loop, returns only after them.
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
					w.final.Store(&byteCounts{RxBytes: st.RxBytes, TxBytes: st.TxBytes})
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

func (w *netlinkWatch) present() (bool, error) {
	_, err := netlink.LinkByName(w.name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	return err == nil, err
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

func (w *netlinkWatch) lastCounts() (byteCounts, bool) {
	if c := w.final.Load(); c != nil {
		return *c, true
	}
	return byteCounts{}, false
}

func (w *netlinkWatch) waitGone(ctx context.Context) error {
	for {
		held, err := w.present()
		if err != nil {
			return err
		}
		if !held {
			return nil
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
	w.once.Do(func() { close(w.done) })
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

func (linuxOS) addRoute(dst netip.Addr, li linkInfo) (added bool, err error) {
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

func (linuxOS) delRoute(dst netip.Addr, ifname string) error {
	lk, err := netlink.LinkByName(ifname)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil // the route went with the interface
	}
	if err != nil {
		return err
	}
	err = netlink.RouteDel(hostRoute(dst, lk.Attrs().Index))
	if err == nil || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}

func (linuxOS) routeVia(dst netip.Addr) (string, error) {
	rs, err := netlink.RouteGet(dst.AsSlice())
	if err != nil {
		return "", err
	}
	if len(rs) == 0 {
		return "", errors.New("no route")
	}
	lk, err := netlink.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		return "", fmt.Errorf("interface %d: %w", rs[0].LinkIndex, err)
	}
	return lk.Attrs().Name, nil
}

// routeChanges signals every change of the routing table until stop,
// which waits until the library has closed updates, as its reader does
// when it ends.
func (linuxOS) routeChanges() (<-chan struct{}, func(), error) {
	updates := make(chan netlink.RouteUpdate, 16)
	done := make(chan struct{})
	if err := netlink.RouteSubscribe(updates, done); err != nil {
		return nil, nil, err
	}
	out := make(chan struct{}, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for range updates {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done) }); <-finished }, nil
}

// dialer binds sockets to the interface with SO_BINDTODEVICE (needs
// CAP_NET_RAW).
func (linuxOS) dialer(li linkInfo) *net.Dialer {
	return boundDialer(li, func(fd uintptr, ifname string) error { return unix.BindToDevice(int(fd), ifname) })
}

// rebind binds c's socket to li again. SO_BINDTODEVICE holds the
// interface's index, resolved from the name when it is set, not the name:
// a redial makes a new ppp0 with a new index, and a socket bound to the
// old one can send nothing, while the kernel answers what comes for it on
// the new one with a reset, which ends the jump host's side of the
// session. Bound again to the new ppp0, it carries on when the new link
// has its address.
func (linuxOS) rebind(c net.Conn, li linkInfo) error {
	return rebindSocket(c, li.name, func(fd uintptr, ifname string) error { return unix.BindToDevice(int(fd), ifname) })
}

func (linuxOS) counters(li linkInfo) (byteCounts, error) {
	lk, err := netlink.LinkByIndex(li.index)
	if err != nil {
		return byteCounts{}, err
	}
	st := lk.Attrs().Statistics
	if st == nil {
		return byteCounts{}, errors.New("no statistics")
	}
	return byteCounts{RxBytes: st.RxBytes, TxBytes: st.TxBytes}, nil
}

func (linuxOS) processes() ([]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []procInfo
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := readStat(e.Name())
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st.info())
	}
	return out, nil
}

func readStat(pid string) (procStat, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%s/stat: %w", pid, err)
	}
	return st, nil
}

// signalGroup signals lead through a pidfd, which pins the process between
// the identity check and the signal: a PID reused meanwhile is never
// signalled.
func (linuxOS) signalGroup(pgid int, lead *procInfo, sig syscall.Signal) (bool, error) {
	if lead == nil {
		if err := unix.Kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return false, err
		}
		return true, nil
	}
	fd, err := unix.PidfdOpen(lead.pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	st, err := readStat(strconv.Itoa(lead.pid))
	if err != nil || st.startTime != lead.start {
		return false, nil
	}
	if err := unix.Kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return true, err
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return true, err
	}
	return true, nil
}
