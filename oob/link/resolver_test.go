//go:build linux || freebsd

package link

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

// The resolver dials its own servers in turn, whatever address the Go
// resolver took from the system's resolv.conf, and keeps a local-address
// binding (FreeBSD's) valid for UDP.
func TestBoundResolverDial(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("127.0.0.54")}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	r := boundResolver(d, servers)
	ctx := context.Background()
	for i, want := range []netip.Addr{servers[0], servers[1], servers[0]} {
		c, err := r.Dial(ctx, "udp", "192.0.2.1:53")
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		ra := c.RemoteAddr().(*net.UDPAddr).AddrPort()
		la := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
		c.Close()
		if ra != netip.AddrPortFrom(want, 53) {
			t.Errorf("dial %d went to %v, want %v:53", i, ra, want)
		}
		if la != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("dial %d from %v, want the bound 127.0.0.1", i, la)
		}
	}
	if _, err := boundResolver(&net.Dialer{}, nil).Dial(ctx, "udp", "192.0.2.1:53"); err == nil {
		t.Error("a resolver without servers dialed")
	}
}
