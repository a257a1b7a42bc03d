package link

import (
	"bufio"
	"bytes"
	"strings"
)

// parseRouteGet returns the "interface:" of FreeBSD's `route -n get`
// output, empty if there is none.
func parseRouteGet(out []byte) string {
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "interface" {
			if f := strings.Fields(v); len(f) == 1 {
				return f[0]
			}
		}
	}
	return ""
}

// routeAddExists reports whether a failed `route -n add` says that the
// route is there already ("add host 203.0.113.10: gateway tun0 fib 0:
// route already in table").
func routeAddExists(out []byte) bool {
	return bytes.Contains(out, []byte("route already in table"))
}

// routeThereAlready decides a failed `route -n add`: when the route is in
// the table already and runs through ifname (route -n get, via), it is
// the one wanted (not added by this run, so not removed by it either).
func routeThereAlready(out []byte, via func() (string, error), ifname string) bool {
	if !routeAddExists(out) {
		return false
	}
	got, err := via()
	return err == nil && got == ifname
}

// routeDeleteGone reports whether a failed `route -n delete` says that
// there is nothing to delete: the route is not in the table, or its
// interface is gone, and the route with it.
func routeDeleteGone(out []byte) bool {
	for _, s := range []string{"not in table", "route has not been found", "does not exist"} {
		if bytes.Contains(out, []byte(s)) {
			return true
		}
	}
	return false
}
