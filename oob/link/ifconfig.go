package link

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The FreeBSD interface flags the link reads (net/if.h; ifconfig prints
// IFF_DRV_RUNNING as RUNNING). The number is read, not the names, which
// differ between releases.
const (
	freebsdIFFUp      = 0x1
	freebsdIFFRunning = 0x40
)

// parseIfconfig reads FreeBSD's `ifconfig NAME`:
//
//	tun0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> metric 0 mtu 1500
//		inet 10.64.0.2 --> 10.64.0.1 netmask 0xffffffff
//		Opened by PID 1234
//
// It takes the first IPv4 address and its point-to-point peer.
func parseIfconfig(name string, out []byte) (ifaceState, error) {
	s := bufio.NewScanner(bytes.NewReader(out))
	if !s.Scan() {
		return ifaceState{}, fmt.Errorf("ifconfig %s: no output", name)
	}
	head := s.Text()
	rest, ok := strings.CutPrefix(head, name+": flags=")
	if !ok {
		return ifaceState{}, fmt.Errorf("ifconfig %s: unexpected first line %q", name, head)
	}
	hex := rest
	if i := strings.IndexAny(rest, "< "); i >= 0 {
		hex = rest[:i]
	}
	flags, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return ifaceState{}, fmt.Errorf("ifconfig %s: flags %q: %w", name, hex, err)
	}
	st := ifaceState{exists: true, up: flags&freebsdIFFUp != 0, running: flags&freebsdIFFRunning != 0}
	for s.Scan() {
		f := strings.Fields(s.Text())
		switch {
		case len(f) >= 2 && f[0] == "inet" && !st.local.IsValid():
			local, err := netip.ParseAddr(f[1])
			if err != nil || !local.Is4() {
				return ifaceState{}, fmt.Errorf("ifconfig %s: inet %q", name, f[1])
			}
			st.local = local
			if len(f) >= 4 && f[2] == "-->" {
				if peer, err := netip.ParseAddr(f[3]); err == nil && peer.Is4() && peer != local {
					st.peer = peer
				}
			}
		case len(f) == 4 && f[0] == "Opened" && f[1] == "by" && f[2] == "PID":
			if pid, err := strconv.Atoi(f[3]); err == nil && pid > 0 {
				st.openedBy = pid
			}
		}
	}
	return st, nil
}

// ifconfigMissing reports whether ifconfig's complaint says that the
// interface does not exist ("ifconfig: interface tun0 does not exist").
func ifconfigMissing(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("does not exist"))
}
