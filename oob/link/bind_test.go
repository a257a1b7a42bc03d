package link

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestDefaultInterface(t *testing.T) {
	for goos, want := range map[string]string{"linux": "ppp0", "freebsd": "tun0"} {
		if got := defaultInterface(goos); got != want {
			t.Errorf("defaultInterface(%s) = %s, want %s", goos, got, want)
		}
	}
}

// Where the OS binds to a device (Linux) every socket goes through it;
// elsewhere (FreeBSD) the link's local address is bound.
func TestBoundDialer(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	li := linkInfo{name: "ppp0", local: loopback()}
	ctx := context.Background()

	t.Run("by device", func(t *testing.T) {
		var bound []string
		d := boundDialer(li, func(fd uintptr, ifname string) error {
			bound = append(bound, ifname)
			return nil
		})
		c, err := d.DialContext(ctx, "tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if len(bound) != 1 || bound[0] != "ppp0" {
			t.Errorf("bound to %q, want ppp0 once", bound)
		}
		if d.LocalAddr != nil {
			t.Errorf("local address %v bound as well", d.LocalAddr)
		}
		refused := boundDialer(li, func(uintptr, string) error { return errors.New("operation not permitted") })
		if _, err := refused.DialContext(ctx, "tcp4", ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "bind to ppp0: operation not permitted") {
			t.Errorf("dial with a failing bind = %v", err)
		}
	})
	t.Run("by address", func(t *testing.T) {
		d := boundDialer(li, nil)
		c, err := d.DialContext(ctx, "tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != loopback() {
			t.Errorf("dialed from %v, want %v", got, loopback())
		}
		if d.Control != nil {
			t.Error("a device binding was set")
		}
	})
}

// The resolver dials its own servers in turn, whatever address the Go
// resolver took from the system's resolv.conf, and keeps a local-address
// binding (FreeBSD's) valid for UDP.
func TestBoundResolverDial(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("127.0.0.54")}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	r := boundResolver(d, servers, 5353)
	ctx := context.Background()
	for i, want := range []netip.Addr{servers[0], servers[1], servers[0]} {
		c, err := r.Dial(ctx, "udp", "192.0.2.1:53")
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		ra := c.RemoteAddr().(*net.UDPAddr).AddrPort()
		la := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
		c.Close()
		if ra != netip.AddrPortFrom(want, 5353) {
			t.Errorf("dial %d went to %v, want %v:5353", i, ra, want)
		}
		if la != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("dial %d from %v, want the bound 127.0.0.1", i, la)
		}
	}
	if _, err := boundResolver(&net.Dialer{}, nil, 53).Dial(ctx, "udp", "192.0.2.1:53"); err == nil {
		t.Error("a resolver without servers dialed")
	}
}

func TestResolve4(t *testing.T) {
	r := boundResolver(&net.Dialer{}, nil, 53)
	ctx := context.Background()
	if a, err := resolve4(ctx, r, "203.0.113.10"); err != nil || a.String() != "203.0.113.10" {
		t.Errorf("IPv4 literal: %v, %v", a, err)
	}
	if _, err := resolve4(ctx, r, "2001:db8::1"); err == nil || !strings.Contains(err.Error(), "not IPv4") {
		t.Errorf("IPv6 literal: %v", err)
	}
	if _, err := resolve4(ctx, r, "jump.test"); err == nil || !strings.Contains(err.Error(), "look up jump.test") {
		t.Errorf("a name without servers: %v", err)
	}
}
