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
