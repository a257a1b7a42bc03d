package netnstest

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// The LAN path works and the jump host sees the agent's LAN address.
func TestTopologyLANPath(t *testing.T) {
	Run(t, func(t *testing.T, tp *Topology) {
		rec, err := Record(tp.Jump, net.JoinHostPort(JumpIP.String(), "22"))
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		dns, err := ServeDNS(tp.Jump, net.JoinHostPort(JumpDNSIP.String(), "53"), map[string]netip.Addr{"jump.test.": JumpIP})
		if err != nil {
			t.Fatal(err)
		}
		defer dns.Close()

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp4", net.JoinHostPort(JumpIP.String(), "22"))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		src, err := rec.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if src != AgentLANIP {
			t.Errorf("jump saw %v, want the agent's LAN address %v", src, AgentLANIP)
		}
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(JumpDNSIP.String(), "53"))
		}}
		got, err := r.LookupNetIP(ctx, "ip4", "jump.test")
		if err != nil || len(got) != 1 || got[0] != JumpIP {
			t.Errorf("lookup jump.test = %v, %v; want %v", got, err, JumpIP)
		}
	})
}

// Do runs its function in the namespace, and the rest of the process stays
// where it was: the agent's LAN address is not visible here.
func TestDoSwitchesOneThread(t *testing.T) {
	tp := New(t)
	var inside []net.Interface
	if err := Do(tp.Agent, func() error {
		var err error
		inside, err = net.Interfaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, i := range inside {
		found = found || i.Name == "lan0"
	}
	if !found {
		t.Errorf("interfaces in %s: %v, want lan0", tp.Agent, inside)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(AgentLANIP.AsSlice()) {
			t.Errorf("the agent's address %v is visible outside its namespace", n)
		}
	}
	// The router forwards, as New set it up to.
	var fwd []byte
	if err := Do(tp.LAN, func() error {
		var err error
		fwd, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		return err
	}); err != nil || string(fwd) != "1\n" {
		t.Errorf("ip_forward in %s = %q, %v", tp.LAN, fwd, err)
	}
}
