//go:build linux

package sshdtest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/netnstest"
)

// bannerIn reads the server's banner over a connection made inside ns.
func bannerIn(t *testing.T, ns, addr string) string {
	t.Helper()
	var c net.Conn
	err := netnstest.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 10*time.Second)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestServerInNamespace(t *testing.T) {
	tp := netnstest.New(t)
	s := Start(t, Options{Netns: tp.Jump, ListenHost: netnstest.JumpIP.String(), Port: 22})
	if want := netnstest.JumpIP.String() + ":22"; s.Addr != want {
		t.Fatalf("Addr %q, want %q", s.Addr, want)
	}
	if got := bannerIn(t, tp.Jump, s.Addr); !strings.HasPrefix(got, "SSH-2.0-OpenSSH") {
		t.Fatalf("banner %q", got)
	}
	if got := s.KnownHostsLine(); !strings.HasPrefix(got, netnstest.JumpIP.String()+" ") {
		t.Fatalf("known_hosts line %q", got)
	}
	s.Restart()
	if got := bannerIn(t, tp.Jump, s.Addr); !strings.HasPrefix(got, "SSH-2.0-OpenSSH") {
		t.Fatalf("banner after restart %q", got)
	}
}
