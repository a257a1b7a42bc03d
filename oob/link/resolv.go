package link

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
)

// DefaultResolvConf is where pppd's usepeerdns writes the servers the peer
// offered.
const DefaultResolvConf = "/etc/ppp/resolv.conf"

// parseResolvConf returns the IPv4 and IPv6 "nameserver" entries of a
// resolv.conf, in order; other lines, comments and zoned or malformed
// addresses are ignored.
func parseResolvConf(b []byte) []netip.Addr {
	var out []netip.Addr
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		line := s.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil || a.Zone() != "" {
			continue
		}
		out = append(out, a.Unmap())
	}
	return out
}
