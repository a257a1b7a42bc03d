package link

import (
	"net/netip"
	"slices"
	"testing"
)

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"pppd usepeerdns", "nameserver 192.0.2.53\nnameserver 192.0.2.54\n", []string{"192.0.2.53", "192.0.2.54"}},
		{"comments and options", "# from pppd\nsearch lan\noptions ndots:2\nnameserver 198.51.100.1 ; primary\n", []string{"198.51.100.1"}},
		{"ipv6 and mapped", "nameserver 2001:db8::1\nnameserver ::ffff:192.0.2.1\n", []string{"2001:db8::1", "192.0.2.1"}},
		{"garbage", "nameserver\nnameserver bogus\nnameserver fe80::1%eth0\nNAMESERVER 192.0.2.9\n", nil},
		{"empty", "", nil},
		{"no trailing newline", "nameserver 192.0.2.7", []string{"192.0.2.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range parseResolvConf([]byte(tt.in)) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseResolvConf(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseResolvConf(f *testing.F) {
	f.Add([]byte("nameserver 192.0.2.53\nnameserver 2001:db8::1\n"))
	f.Add([]byte("# c\nsearch x\nnameserver 1.2.3.4 ; x\n"))
	f.Add([]byte("nameserver fe80::1%eth0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, a := range parseResolvConf(b) {
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("bad server %v from %q", a, b)
			}
			if _, err := netip.ParseAddr(a.String()); err != nil {
				t.Fatalf("%v does not round-trip: %v", a, err)
			}
		}
	})
}
