package jumphost

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connected starts a jump host that knows one new key and logs in to it
// with that key; both close when the test ends.
func connected(t *testing.T) (*Server, *ssh.Client) {
	t.Helper()
	key := newSigner(t)
	s, err := Start(WithAuthorizedKeys(key.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := dial(t, s, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

// dial connects with strict host key checking against the server's own
// known_hosts line.
func dial(t *testing.T, s *Server, key ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	_, hosts, pub, _, _, err := ssh.ParseKnownHosts([]byte(s.KnownHostsLine()))
	if err != nil {
		t.Fatal(err)
	}
	if hosts[0] != knownhosts.Normalize(s.Addr()) {
		t.Fatalf("known_hosts name %q, want %q", hosts[0], knownhosts.Normalize(s.Addr()))
	}
	return ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            "oob",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(pub),
	})
}

func TestAuth(t *testing.T) {
	good, bad := newSigner(t), newSigner(t)
	s, err := Start(WithAuthorizedKeys(good.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := dial(t, s, good)
	if err != nil {
		t.Fatalf("authorized key refused: %v", err)
	}
	c.Close()
	if c, err := dial(t, s, bad); err == nil {
		c.Close()
		t.Fatal("unauthorized key accepted")
	}
}

// TestForwardHalfClose: a remote forward carries a request, the client's
// half-close reaches the target, and the answer still comes back.
func TestForwardHalfClose(t *testing.T) {
	_, c := connected(t)
	ln, err := c.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if port == 0 {
		t.Fatal("port 0 not replaced by the bound port")
	}
	served := make(chan string, 1)
	go func() {
		fc, err := ln.Accept()
		if err != nil {
			served <- "accept: " + err.Error()
			return
		}
		defer fc.Close()
		b, err := io.ReadAll(fc) // until the far side's half-close
		if err != nil {
			served <- "read: " + err.Error()
			return
		}
		io.WriteString(fc, "got "+string(b))
		fc.(interface{ CloseWrite() error }).CloseWrite()
		served <- ""
	}()
	tc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	io.WriteString(tc, "ping")
	tc.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(tc)
	if err != nil {
		t.Fatal(err)
	}
	if msg := <-served; msg != "" {
		t.Fatal(msg)
	}
	if string(reply) != "got ping" {
		t.Fatalf("reply %q, want %q", reply, "got ping")
	}
}

func TestPermitListen(t *testing.T) {
	key := newSigner(t)
	s, err := Start(WithAuthorizedKeys(key.PublicKey()), WithPermitListen("localhost:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := dial(t, s, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		addr string
		ok   bool
	}{
		{"localhost:0", true},
		{"127.0.0.1:0", false}, // the host must match as written
		{"localhost:1", false},
	}
	for _, tt := range tests {
		ln, err := c.Listen("tcp", tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("Listen(%s): err %v, want ok=%v", tt.addr, err, tt.ok)
		}
		if err == nil {
			ln.Close()
		}
	}
	if _, err := Start(WithPermitListen("nonsense")); err == nil {
		t.Error("bad permit listen entry accepted")
	}
}

func TestDirectTCPIP(t *testing.T) {
	key := newSigner(t)
	s, err := Start(WithAuthorizedKeys(key.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		tc, err := target.Accept()
		if err != nil {
			return
		}
		io.WriteString(tc, "SSH-2.0-target\r\n")
		tc.Close()
	}()
	c, err := dial(t, s, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Dial("tcp", target.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(ch)
	ch.Close()
	if err != nil || !strings.HasPrefix(string(b), "SSH-2.0-target") {
		t.Fatalf("read %q, %v", b, err)
	}
	if _, err := c.Dial("tcp", "192.0.2.1:22"); err == nil {
		t.Fatal("direct-tcpip to a non-loopback host allowed")
	}
}

// TestCloseWaits: Close ends live forwards and connections; goleak in
// TestMain checks nothing is left.
func TestCloseWaits(t *testing.T) {
	key := newSigner(t)
	s, err := Start(WithAuthorizedKeys(key.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, s, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ln, err := c.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		fc, err := ln.Accept()
		if err == nil {
			accepted <- fc
		}
		close(accepted)
	}()
	held, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(ln.Addr().(*net.TCPAddr).Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if fc := <-accepted; fc != nil {
		defer fc.Close()
	}
	// A connection that never finishes its handshake.
	raw, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	// The held connection was closed by the server.
	if _, err := io.ReadAll(held); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestCancelForward: closing the client's listener sends
// cancel-tcpip-forward and the jump host stops listening.
func TestCancelForward(t *testing.T) {
	_, c := connected(t)
	ln, err := c.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", itoa(ln.Addr().(*net.TCPAddr).Port))
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if tc, err := net.Dial("tcp", addr); err == nil {
		tc.Close()
		t.Fatal("still listening after cancel-tcpip-forward")
	}
}

// TestOpenForwarded: the server opens a forwarded-tcpip channel for a
// forward by itself; the client's answer (accept, or a refusal with its
// reason) is what the caller gets.
func TestOpenForwarded(t *testing.T) {
	s, c := connected(t)
	// The client takes the channels itself: the first is accepted and
	// echoes, the second refused for lack of resources.
	chans := c.HandleChannelOpen("forwarded-tcpip")
	served := make(chan struct{})
	go func() {
		defer close(served)
		first := true
		for nc := range chans {
			if !first {
				nc.Reject(ssh.ResourceShortage, "full")
				continue
			}
			first = false
			ch, reqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go ssh.DiscardRequests(reqs)
			go func() {
				io.Copy(ch, ch)
				ch.CloseWrite()
			}()
		}
	}()
	ok, resp, err := c.SendRequest("tcpip-forward", true, ssh.Marshal(forwardRequest{BindAddr: "localhost", BindPort: 0}))
	if err != nil || !ok {
		t.Fatalf("tcpip-forward: %v %v", ok, err)
	}
	var bound struct{ Port uint32 }
	if err := ssh.Unmarshal(resp, &bound); err != nil || bound.Port == 0 {
		t.Fatalf("tcpip-forward reply %x: %v", resp, err)
	}
	if _, err := s.OpenForwarded(int(bound.Port) + 1); err == nil {
		t.Fatal("a channel opened for a port with no forward")
	}

	ch, err := s.OpenForwarded(int(bound.Port))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(ch, "echo me")
	ch.CloseWrite()
	got, err := io.ReadAll(ch)
	ch.Close()
	if err != nil || string(got) != "echo me" {
		t.Fatalf("through the channel: %q %v", got, err)
	}

	_, err = s.OpenForwarded(int(bound.Port))
	var oce *ssh.OpenChannelError
	if !errors.As(err, &oce) || oce.Reason != ssh.ResourceShortage {
		t.Fatalf("second channel: %v, want the client's refusal for resource shortage", err)
	}
	c.Close()
	<-served
}
