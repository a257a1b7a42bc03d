package link

import (
	"io"
	"net"
	"strings"
	"testing"
)

// TestRebind: the real OS binds a connected socket to an interface by
// name; a name with no interface is refused, naming it.
func TestRebind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	if peer == nil {
		t.Fatal("no connection accepted")
	}
	defer peer.Close()
	if err := (linuxOS{}).rebind(c, linkInfo{name: "lo"}); err != nil {
		t.Fatalf("rebind to lo: %v", err)
	}
	// Still connected through lo.
	io.WriteString(c, "x")
	if _, err := io.ReadFull(peer, make([]byte, 1)); err != nil {
		t.Fatalf("after the rebind: %v", err)
	}
	err = (linuxOS{}).rebind(c, linkInfo{name: "nosuch0"})
	if err == nil || !strings.Contains(err.Error(), "nosuch0") {
		t.Fatalf("rebind to a missing interface: %v", err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := (linuxOS{}).rebind(a, linkInfo{name: "lo"}); err == nil {
		t.Fatal("a connection without a socket rebound")
	}
}
