package session

import (
	"context"
	"io"
	"net"
	"testing"
)

func TestLoopbackCountsItsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.ReadFull(c, make([]byte, 4))
		c.Write([]byte("SSH-2.0-x\r\n"))
	}()

	p, err := Loopback{}.Up(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Interface() != "lo" || p.LocalIP().String() != "127.0.0.1" {
		t.Fatalf("loopback path is %s %v", p.Interface(), p.LocalIP())
	}
	c, err := p.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 11)); err != nil {
		t.Fatal(err)
	}
	if rx, tx := p.Bytes(); rx != 11 || tx != 4 {
		t.Fatalf("Bytes = %d received, %d sent; want 11 and 4", rx, tx)
	}
	select {
	case <-p.Done():
		t.Fatal("a loopback path dropped")
	default:
	}
	if err := p.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
}
