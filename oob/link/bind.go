package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
)

// defaultInterface is the interface the usual dialer makes first: pppd's
// ppp0 on Linux, ppp(8)'s tun0 on FreeBSD (ppp -foreground takes the first
// free tunN, so a second link there is tun1).
func defaultInterface(goos string) string {
	if goos == "freebsd" {
		return "tun0"
	}
	return "ppp0"
}

// boundDialer returns a dialer whose sockets leave through li only. Where
// the OS can bind a socket to a device (bindToDevice not nil: Linux's
// SO_BINDTODEVICE) that is what it does: it forces the egress interface
// whatever the routing table says. Elsewhere (FreeBSD) it binds the link's
// local address, which selects the source only; the route check must then
// prove that the jump host is routed via the link.
func boundDialer(li linkInfo, bindToDevice func(fd uintptr, ifname string) error) *net.Dialer {
	if bindToDevice == nil {
		return &net.Dialer{LocalAddr: &net.TCPAddr{IP: li.local.AsSlice()}}
	}
	name := li.name
	return &net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			var berr error
			if err := c.Control(func(fd uintptr) { berr = bindToDevice(fd, name) }); err != nil {
				return err
			}
			if berr != nil {
				return fmt.Errorf("bind to %s: %w", name, berr)
			}
			return nil
		},
	}
}

// rebindSocket binds the socket under c to ifname with bindToDevice.
func rebindSocket(c net.Conn, ifname string, bindToDevice func(fd uintptr, ifname string) error) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("rebind to %s: %T has no socket", ifname, c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("rebind to %s: %w", ifname, err)
	}
	var berr error
	if err := rc.Control(func(fd uintptr) { berr = bindToDevice(fd, ifname) }); err != nil {
		return fmt.Errorf("rebind to %s: %w", ifname, err)
	}
	if berr != nil {
		return fmt.Errorf("rebind to %s: %w", ifname, berr)
	}
	return nil
}

// boundResolver asks servers on port, in turn, over sockets from d (bound
// to the link), whatever /etc/resolv.conf says.
func boundResolver(d *net.Dialer, servers []netip.Addr, port uint16) *net.Resolver {
	servers = append([]netip.Addr(nil), servers...)
	var next atomic.Uint32
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if len(servers) == 0 {
				return nil, errors.New("no DNS servers for the link")
			}
			s := servers[int(next.Add(1)-1)%len(servers)]
			plain := &net.Dialer{Control: d.Control}
			// A local address (FreeBSD's binding) must match the network.
			if a, ok := d.LocalAddr.(*net.TCPAddr); ok {
				if strings.HasPrefix(network, "udp") {
					plain.LocalAddr = &net.UDPAddr{IP: a.IP}
				} else {
					plain.LocalAddr = a
				}
			}
			return plain.DialContext(ctx, network, netip.AddrPortFrom(s, port).String())
		},
	}
}

func resolve4(ctx context.Context, r *net.Resolver, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().Is4() {
			return netip.Addr{}, fmt.Errorf("jump host %s: not IPv4", host)
		}
		return a.Unmap(), nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("look up %s: %w", host, err)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("look up %s: no IPv4 address", host)
}
