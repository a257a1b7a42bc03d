package tunnel_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitBound is the generous bound for anything the tests wait on.
const waitBound = 60 * time.Second

var netDialer net.Dialer

// dial is the tunnel's dial function in tests: plain TCP on loopback.
var dial tunnel.DialFunc = netDialer.DialContext

// goKey makes an ed25519 key in Go and writes it (OpenSSH format,
// unencrypted) to dir/name.
func goKey(t testing.TB, dir, name string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testLogger writes the tunnel's log to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// events collects a tunnel's events on a channel.
type events struct{ ch chan tunnel.Event }

func newEvents() *events { return &events{ch: make(chan tunnel.Event, 64)} }

func (e *events) fn(ev tunnel.Event) { e.ch <- ev }

// next waits for an event in the given state, skipping others.
func (e *events) next(t testing.TB, want tunnel.State) tunnel.Event {
	t.Helper()
	timer := time.NewTimer(waitBound)
	defer timer.Stop()
	for {
		select {
		case ev := <-e.ch:
			t.Logf("event: %v err=%v forwards=%v reconnects=%d", ev.State, ev.Err, ev.Forwards, ev.Reconnects)
			if ev.State == want {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %v event within %v", want, waitBound)
			return tunnel.Event{}
		}
	}
}

// server is a local target: it listens on 127.0.0.1 and runs handle for
// every connection; Close waits for the handlers.
type server struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startServer(t testing.TB, handle func(net.Conn)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *server) Addr() string { return s.ln.Addr().String() }
func (s *server) Close()       { s.ln.Close(); s.wg.Wait() }

// answerAfterEOF reads until the client's half-close, then answers with
// what it got: it only works if half-close passes through.
func answerAfterEOF(c net.Conn) {
	b, err := io.ReadAll(c)
	if err != nil {
		return
	}
	fmt.Fprintf(c, "got %d bytes: %s", len(b), b)
}

// bannerThenEcho speaks first like an SSH server, then echoes.
func bannerThenEcho(c net.Conn) {
	io.WriteString(c, "SSH-2.0-fake_1.0\r\n")
	io.Copy(c, c)
}

// jumpSide connects to the jump host's end of a forward, as the owner's
// `ssh -J` would.
func jumpSide(t testing.TB, port int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip sends msg through a forward, half-closes, and returns the answer.
func roundTrip(t testing.TB, port int, msg string) string {
	t.Helper()
	c := jumpSide(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitBound))
	io.WriteString(c, msg)
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func startTunnel(t testing.TB, cfg tunnel.Config, opts ...tunnel.Option) *tunnel.Tunnel {
	t.Helper()
	return startTunnelVia(t, cfg, dial, opts...)
}

// startTunnelVia starts a tunnel that dials with d; it closes when the
// test ends.
func startTunnelVia(t testing.TB, cfg tunnel.Config, d tunnel.DialFunc, opts ...tunnel.Option) *tunnel.Tunnel {
	t.Helper()
	tun, err := tunnel.New(cfg, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tun.Close() })
	// The context is the tunnel's lifetime; Close ends it.
	if err := tun.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tun
}

func asError[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

func itoa(i int) string { return strconv.Itoa(i) }
