//go:build freebsd

package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// On FreeBSD the interface is watched by looking at it (getifaddrs) every
// pollInterval: no netlink library there, and a quarter second is nothing
// next to a PPP negotiation. The routing socket could replace it.
const pollInterval = 250 * time.Millisecond

// DefaultInterface is the interface ppp -foreground makes first (tun(4)).
const DefaultInterface = "tun0"

type pollWatch struct {
	name     string
	stop     chan struct{}
	goneCh   chan struct{}
	readyIdx chan int
	loopDone chan struct{}
}

func watchInterface(name string) (ifaceWatch, error) {
	w := &pollWatch{
		name:     name,
		stop:     make(chan struct{}),
		goneCh:   make(chan struct{}),
		readyIdx: make(chan int),
		loopDone: make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

// loop closes goneCh once the ready interface has disappeared.
func (w *pollWatch) loop() {
	defer close(w.loopDone)
	var index int
	select {
	case index = <-w.readyIdx:
	case <-w.stop:
		return
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if ifi, err := net.InterfaceByName(w.name); err != nil || ifi.Index != index {
				close(w.goneCh)
				return
			}
		case <-w.stop:
			return
		}
	}
}

func (w *pollWatch) ready(ctx context.Context, exited <-chan struct{}) (linkInfo, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if info, ok := inspect(w.name); ok {
			select {
			case w.readyIdx <- info.index:
			case <-w.loopDone:
			}
			return info, nil
		}
		select {
		case <-tick.C:
		case <-exited:
			return linkInfo{}, fmt.Errorf("dialer exited before %s was up with an IPv4 address", w.name)
		case <-ctx.Done():
			return linkInfo{}, fmt.Errorf("%s not up with an IPv4 address: %w", w.name, ctx.Err())
		}
	}
}

func (w *pollWatch) gone() <-chan struct{} { return w.goneCh }

func (w *pollWatch) lastCounts() (Counters, bool) { return Counters{}, false }

func (w *pollWatch) waitGone(ctx context.Context) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if ok, _ := interfaceExists(w.name); !ok {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%s still exists: %w", w.name, ctx.Err())
		}
	}
}

func (w *pollWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.loopDone
}

func inspect(name string) (linkInfo, bool) {
	ifi, err := net.InterfaceByName(name)
	if err != nil || ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagRunning == 0 {
		return linkInfo{}, false
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return linkInfo{}, false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok {
				return linkInfo{name: name, index: ifi.Index, local: ip}, true
			}
		}
	}
	return linkInfo{}, false
}

func interfaceExists(name string) (bool, error) {
	_, err := net.InterfaceByName(name)
	return err == nil, nil
}

func addHostRoute(dst netip.Addr, li linkInfo) (bool, error) {
	out, err := exec.Command("route", "-n", "add", "-host", dst.String(), "-interface", li.name).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "File exists") {
			if via, gerr := routeInterface(dst); gerr == nil && via == li.name {
				return false, nil
			}
		}
		return false, fmt.Errorf("route add: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return true, nil
}

func delHostRoute(dst netip.Addr, li linkInfo) error { return delHostRouteByName(dst, li.name) }

func delHostRouteByName(dst netip.Addr, ifname string) error {
	out, err := exec.Command("route", "-n", "delete", "-host", dst.String(), "-interface", ifname).CombinedOutput()
	if err != nil {
		s := string(out)
		if strings.Contains(s, "not in table") || strings.Contains(s, "No such process") || strings.Contains(s, "bad address") {
			return nil
		}
		return fmt.Errorf("route delete: %w: %s", err, strings.TrimSpace(s))
	}
	return nil
}

// routeInterface asks the kernel (`route -n get`) which interface it would
// use for dst, without naming an interface.
func routeInterface(dst netip.Addr) (string, error) {
	out, err := exec.Command("route", "-n", "get", dst.String()).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("route get: %w: %s", err, strings.TrimSpace(string(out)))
	}
	ifname := parseRouteGet(out)
	if ifname == "" {
		return "", errors.New("route get: no interface in output")
	}
	return ifname, nil
}

// boundDialer binds to the link's local address. FreeBSD has no
// SO_BINDTODEVICE; the host route (or the dialer's own) must send the jump
// host via the link, which the route check proves.
func boundDialer(li linkInfo) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: li.local.AsSlice()}}
}

func readCounters(li linkInfo) (Counters, error) {
	b, err := syscall.RouteRIB(syscall.NET_RT_IFLIST, li.index)
	if err != nil {
		return Counters{}, err
	}
	msgs, err := syscall.ParseRoutingMessage(b)
	if err != nil {
		return Counters{}, err
	}
	for _, m := range msgs {
		if im, ok := m.(*syscall.InterfaceMessage); ok && int(im.Header.Index) == li.index {
			return Counters{RxBytes: uint64(im.Header.Data.Ibytes), TxBytes: uint64(im.Header.Data.Obytes)}, nil
		}
	}
	return Counters{}, errors.New("interface not in routing table dump")
}

// routeChanges signals every 250ms until stop: FreeBSD's routing socket
// would tell changes as they happen, but a short poll is enough for the
// few seconds an ip-up script takes.
func routeChanges() (<-chan struct{}, func(), error) {
	t := time.NewTicker(250 * time.Millisecond)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-t.C:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return out, func() { t.Stop(); close(done); <-finished }, nil
}
