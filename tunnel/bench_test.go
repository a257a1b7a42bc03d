package tunnel_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/tunnel"
)

// benchChunk is what one benchmark iteration sends through the forward;
// the sink acknowledges each chunk, so every byte counted has arrived.
const benchChunk = 4 << 20

// sink reads and answers one byte per benchChunk received.
func sink(c net.Conn) {
	buf := make([]byte, 256<<10)
	got := 0
	for {
		n, err := c.Read(buf)
		got += n
		for got >= benchChunk {
			got -= benchChunk
			if _, err := c.Write([]byte{1}); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// throughput pushes chunks through the jump host's end of a forward (port
// on 127.0.0.1) to the sink behind it.
func throughput(b *testing.B, port int) {
	c := jumpSide(b, port)
	defer c.Close()
	chunk := make([]byte, benchChunk)
	rand.Read(chunk)
	ack := make([]byte, 1)
	b.SetBytes(benchChunk)
	for b.Loop() {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, ack); err != nil {
			b.Fatal(err)
		}
	}
}

// benchJump is an sshd jump host whose key may forward any port.
func benchJump(b *testing.B) *jumpSetup {
	jump, _ := startJump(b, func(int) string { return "restrict,port-forwarding" })
	return jump
}

// BenchmarkForwardThroughput: bytes from the jump host through this
// package's forward to a local sink, against a real sshd.
func BenchmarkForwardThroughput(b *testing.B) {
	throughput(b, tunnelForward(b, sink))
}

// BenchmarkForwardThroughputOpenSSH: the same bytes through OpenSSH's own
// `ssh -R` against the same kind of sshd, with its default cipher and with
// x/crypto's default (aes128-gcm) for a like-for-like figure.
func BenchmarkForwardThroughputOpenSSH(b *testing.B) {
	for _, cipher := range []string{"default", "aes128-gcm@openssh.com"} {
		b.Run("cipher="+cipher, func(b *testing.B) {
			throughput(b, openSSHForward(b, cipher, sink))
		})
	}
}

// tunnelForward starts this package's tunnel with one remote forward to a
// local server that runs handle, against a real sshd, and returns the
// forward's port on the jump host.
func tunnelForward(b *testing.B, handle func(net.Conn)) int {
	jump := benchJump(b)
	box := startServer(b, handle)
	cfg := jump.config(b, tunnel.Forward{Remote: "localhost:0", Local: box.Addr()})
	cfg.Logger = nil
	tun := startTunnel(b, cfg)
	return tun.Status().Forwards[0].BoundPort
}

// openSSHForward starts OpenSSH's `ssh -R` (with cipher, or its default)
// against the same kind of sshd, forwarding to a local server that runs
// handle, and returns the forward's port on the jump host.
func openSSHForward(b *testing.B, cipher string, handle func(net.Conn)) int {
	jump := benchJump(b)
	box := startServer(b, handle)
	port := sshdtest.FreePort(b)
	kh := writeFile(b, jump.dir, "known_hosts", jump.sshd.KnownHostsLine())
	args := sshdtest.SSHArgs(jump.keyPath, kh, jump.sshd.Port, jump.sshd.User, "127.0.0.1")
	args = append(args[:len(args)-1], "-N", "-v", "-o", "ExitOnForwardFailure=yes",
		"-R", fmt.Sprintf("localhost:%d:%s", port, box.Addr()), args[len(args)-1])
	args = append([]string{args[0], "-o", "LogLevel=VERBOSE"}, args[1:]...)
	if cipher != "default" {
		args = append([]string{args[0], "-c", cipher}, args[1:]...)
	}
	startSSHForward(b, args, port)
	return port
}

// startSSHForward runs an OpenSSH client with -R and waits until it says
// the forward is bound.
func startSSHForward(b *testing.B, args []string, port int) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), fmt.Sprintf("remote forward success for: listen localhost:%d", port)) {
				ready <- nil
				io.Copy(io.Discard, stderr)
				return
			}
		}
		ready <- fmt.Errorf("ssh -R never bound the forward:\n%s", strings.Join(lines, "\n"))
	}()
	select {
	case err := <-ready:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(waitBound):
		b.Fatal("ssh -R: no forward within", waitBound)
	}
}
