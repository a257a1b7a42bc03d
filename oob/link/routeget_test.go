package link

import (
	"strings"
	"testing"
)

func TestParseRouteGet(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"freebsd 14", "   route to: 203.0.113.10\ndestination: 203.0.113.10\n    gateway: 10.0.0.1\n        fib: 0\n  interface: tun0\n      flags: <UP,HOST,DONE,STATIC>\n recvpipe  sendpipe\n", "tun0"},
		{"default route", "   route to: 8.8.8.8\ndestination: default\n       mask: default\n    gateway: 192.168.1.1\n  interface: ue0\n", "ue0"},
		{"not in table", "route: route has not been found\n", ""},
		{"empty interface", "  interface: \n", ""},
		{"two words", "  interface: tun0 tun1\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRouteGet([]byte(tt.in)); got != tt.want {
				t.Errorf("parseRouteGet = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseRouteGet(f *testing.F) {
	f.Add([]byte("  interface: tun0\n"))
	f.Add([]byte("destination: default\ninterface:em0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := parseRouteGet(b)
		if strings.ContainsAny(got, " \t\r\n") {
			t.Fatalf("interface %q has spaces", got)
		}
		if got != "" && !strings.Contains(string(b), got) {
			t.Fatalf("interface %q not in the input", got)
		}
	})
}
