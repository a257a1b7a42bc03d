package tunnel_test

import (
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/oobd/oobd/tunnel"
)

func TestCountingConnCountsEachWay(t *testing.T) {
	tests := []struct {
		name      string
		write     []string // written by the counted end, in order
		read      []string // written by the far end, read by the counted end
		wantSent  int64
		wantRecvd int64
	}{
		{"nothing", nil, nil, 0, 0},
		{"one way", []string{"SSH-2.0-oobd\r\n"}, nil, 14, 0},
		{"both ways", []string{"ab", "cde"}, []string{"SSH-2.0-OpenSSH\r\n"}, 5, 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			near, far := net.Pipe()
			defer far.Close()
			var sent, received atomic.Int64
			c := &tunnel.CountingConn{Conn: near, Sent: &sent, Received: &received}
			defer c.Close()

			go func() {
				for _, s := range tt.write {
					io.ReadFull(far, make([]byte, len(s)))
				}
				for _, s := range tt.read {
					far.Write([]byte(s))
				}
			}()
			for _, s := range tt.write {
				if _, err := c.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range tt.read {
				if _, err := io.ReadFull(c, make([]byte, len(s))); err != nil {
					t.Fatal(err)
				}
			}
			if sent.Load() != tt.wantSent || received.Load() != tt.wantRecvd {
				t.Fatalf("sent %d received %d, want %d and %d", sent.Load(), received.Load(), tt.wantSent, tt.wantRecvd)
			}
		})
	}
}
