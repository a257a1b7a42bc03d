package tunnel_test

import (
	"io"
	"net"
	"testing"
)

// echo sends back every byte as it arrives, as a router's console echoes
// a keystroke.
func echo(c net.Conn) { io.Copy(c, c) }

// keystrokes writes one byte at a time into the jump host's end of a
// forward and waits for its echo: the round trip of a person typing on the
// console through the tunnel.
func keystrokes(b *testing.B, port int) {
	c := jumpSide(b, port)
	defer c.Close()
	key, back := []byte{'x'}, make([]byte, 1)
	stroke := func() {
		if _, err := c.Write(key); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, back); err != nil {
			b.Fatal(err)
		}
	}
	// The first stroke opens the channel and the connection to the echo.
	stroke()
	for b.Loop() {
		stroke()
	}
}

// BenchmarkForwardEcho: a 1-byte write from the jump host's end of this
// package's forward, echoed back by a local server, against a real sshd.
func BenchmarkForwardEcho(b *testing.B) {
	keystrokes(b, tunnelForward(b, echo))
}

// BenchmarkForwardEchoOpenSSH: the same keystrokes through OpenSSH's
// `ssh -R` with the cipher this package negotiates (aes128-gcm).
func BenchmarkForwardEchoOpenSSH(b *testing.B) {
	b.Run("cipher=aes128-gcm@openssh.com", func(b *testing.B) {
		keystrokes(b, openSSHForward(b, "aes128-gcm@openssh.com", echo))
	})
}
