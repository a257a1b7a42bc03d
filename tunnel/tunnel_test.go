package tunnel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
	"github.com/oobd/oobd/tunnel/jumphost"
	"go.uber.org/goleak"
)

// inProcess starts a jump host in process and a config for it.
func inProcess(t *testing.T, forwards ...tunnel.Forward) (*jumphost.Server, tunnel.Config) {
	t.Helper()
	dir := t.TempDir()
	signer, keyPath := goKey(t, dir, "id_ed25519")
	jh, err := jumphost.Start(jumphost.WithAuthorizedKeys(signer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jh.Close() })
	return jh, tunnel.Config{
		JumpHost:         jh.Addr(),
		User:             "oob",
		IdentityFile:     keyPath,
		KnownHostsFile:   writeFile(t, dir, "known_hosts", jh.KnownHostsLine()),
		Keepalive:        time.Second,
		HandshakeTimeout: 10 * time.Second,
		Forwards:         forwards,
		Logger:           testLogger(t),
	}
}

func TestForwardHalfCloseAndBytes(t *testing.T) {
	target := startServer(t, answerAfterEOF)
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: target.Addr()})
	tun := startTunnel(t, cfg)
	st := tun.Status()
	if st.State != tunnel.StateUp || len(st.Forwards) != 1 || st.Forwards[0].BoundPort == 0 {
		t.Fatalf("status %+v", st)
	}
	port := st.Forwards[0].BoundPort
	got := roundTrip(t, port, "hello")
	if want := "got 5 bytes: hello"; got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	// Several at once, each answered only after its own half-close.
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			msg := strings.Repeat("x", 1000*(i+1))
			c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.Write([]byte(msg))
			c.(*net.TCPConn).CloseWrite()
			b := make([]byte, 0, len(msg)+32)
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				b = append(b, buf[:n]...)
				if err != nil {
					break
				}
			}
			if !strings.HasPrefix(string(b), "got "+itoa(len(msg))+" bytes") {
				errs <- errors.New("bad answer " + string(b[:min(40, len(b))]))
				return
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st = tun.Status()
	if st.ForwardedIn < 5 || st.ForwardedOut < int64(len(got)) || st.WireSent == 0 || st.WireReceived == 0 {
		t.Fatalf("byte counters not counting: %+v", st)
	}
	if err := tun.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tun.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if st := tun.Status(); st.State != tunnel.StateClosed {
		t.Fatalf("state after Close: %v", st.State)
	}
}

func TestSelfCheck(t *testing.T) {
	banner := startServer(t, bannerThenEcho)
	silent := startServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
	_, cfg := inProcess(t,
		tunnel.Forward{Remote: "localhost:0", Local: banner.Addr()},
		tunnel.Forward{Remote: "127.0.0.1:0", Local: silent.Addr()},
	)
	tun := startTunnel(t, cfg, tunnel.WithSelfCheckHold(300*time.Millisecond))
	res, err := tun.SelfCheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Banner != "SSH-2.0-fake_1.0" || res[1].FirstBytes != 0 {
		t.Fatalf("results %+v", res)
	}
}

func TestSelfCheckFailsWhenLocalTargetDown(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close()
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: addr})
	tun := startTunnel(t, cfg)
	_, err = tun.SelfCheck(context.Background())
	sce, ok := asError[*tunnel.SelfCheckError](err)
	if !ok {
		t.Fatalf("err %v, want a SelfCheckError", err)
	}
	if sce.Step != tunnel.StepRead || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err %v: want step %q naming the refused local target", err, tunnel.StepRead)
	}
}

func TestSelfCheckWhenDown(t *testing.T) {
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: "127.0.0.1:22"})
	tun, err := tunnel.New(cfg, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	_, err = tun.SelfCheck(context.Background())
	if sce, ok := asError[*tunnel.SelfCheckError](err); !ok || sce.Step != tunnel.StepTunnelUp {
		t.Fatalf("err %v, want step %q", err, tunnel.StepTunnelUp)
	}
}

// TestReconnectKeepsPort: the jump host drops every client; the tunnel
// comes back by itself with the same port it had been given for port 0.
func TestReconnectKeepsPort(t *testing.T) {
	target := startServer(t, answerAfterEOF)
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: target.Addr()})
	ev := newEvents()
	tun := startTunnel(t, cfg, tunnel.WithEvents(ev.fn), tunnel.WithBackoff(50*time.Millisecond, 500*time.Millisecond), tunnel.WithForwardRetry(5*time.Second))
	first := ev.next(t, tunnel.StateUp)
	jh.DropConnections()
	down := ev.next(t, tunnel.StateDown)
	if down.Err == nil {
		t.Fatal("down event without a reason")
	}
	up := ev.next(t, tunnel.StateUp)
	if up.Reconnects != 1 || up.Forwards[0].BoundPort != first.Forwards[0].BoundPort {
		t.Fatalf("after reconnect: %+v, want reconnects 1 and port %d", up, first.Forwards[0].BoundPort)
	}
	if got := roundTrip(t, up.Forwards[0].BoundPort, "again"); got != "got 5 bytes: again" {
		t.Fatalf("answer %q", got)
	}
	st := tun.Status()
	if st.Reconnects != 1 || st.LastError == nil {
		t.Fatalf("status %+v", st)
	}
}

// TestReconnectAtOnce: the first reconnect after a loss does not wait
// for the backoff (a minute here): the owner's way back is down.
func TestReconnectAtOnce(t *testing.T) {
	target := startServer(t, answerAfterEOF)
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: target.Addr()})
	ev := newEvents()
	startTunnel(t, cfg, tunnel.WithEvents(ev.fn), tunnel.WithBackoff(time.Minute, time.Minute))
	ev.next(t, tunnel.StateUp)
	jh.DropConnections()
	ev.next(t, tunnel.StateDown)
	start := time.Now()
	ev.next(t, tunnel.StateUp)
	if took := time.Since(start); took >= 45*time.Second {
		t.Errorf("reconnected after %v: the first reconnect waited for the backoff", took)
	}
}

// TestStartContextEnds: the tunnel lives as long as Start's context.
func TestStartContextEnds(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: "127.0.0.1:22"})
	tun, err := tunnel.New(cfg, dial)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := tun.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tun.Start(ctx); err == nil {
		t.Fatal("second Start accepted")
	}
	cancel()
	select {
	case <-tun.Done():
	case <-time.After(waitBound):
		t.Fatal("Done not closed after the context ended")
	}
	if st := tun.Status(); st.State != tunnel.StateClosed {
		t.Fatalf("state %v", st.State)
	}
	tun.Close()
	if err := tun.Start(context.Background()); !errors.Is(err, tunnel.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	jh.Close()
	goleak.VerifyNone(t, ignore)
}

func TestAuthRefused(t *testing.T) {
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: "127.0.0.1:22"})
	_, other := goKey(t, t.TempDir(), "other")
	cfg.IdentityFile = other
	tun, err := tunnel.New(cfg, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	err = tun.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("err %v, want an authentication failure", err)
	}
	if tunnel.IsHostKeyError(err) {
		t.Fatal("auth failure reported as a host key error")
	}
}

// TestCloseDuringStart: Close interrupts a Start that is still retrying a
// refused forward.
func TestCloseDuringStart(t *testing.T) {
	dir := t.TempDir()
	signer, keyPath := goKey(t, dir, "id")
	jh, err := jumphost.Start(jumphost.WithAuthorizedKeys(signer.PublicKey()), jumphost.WithPermitListen("localhost:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer jh.Close()
	cfg := tunnel.Config{
		JumpHost: jh.Addr(), User: "oob", IdentityFile: keyPath,
		KnownHostsFile: writeFile(t, dir, "kh", jh.KnownHostsLine()),
		Forwards:       []tunnel.Forward{{Remote: "localhost:2", Local: "127.0.0.1:22"}},
	}
	tun, err := tunnel.New(cfg, dial, tunnel.WithForwardRetry(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- tun.Start(context.Background()) }()
	// Wait until the first refusal has been logged... by polling status is
	// not possible; Close at any point must work.
	time.AfterFunc(200*time.Millisecond, func() { tun.Close() })
	select {
	case err := <-started:
		if !errors.Is(err, tunnel.ErrClosed) {
			t.Fatalf("Start: %v, want ErrClosed", err)
		}
	case <-time.After(waitBound):
		t.Fatal("Close did not interrupt Start")
	}
}

// TestHandshakeTimeout: a jump host that accepts TCP and never speaks
// costs one handshake timeout, not a hang (golang/go#15113).
func TestHandshakeTimeout(t *testing.T) {
	mute := startServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	_, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: "127.0.0.1:22"})
	cfg.JumpHost = mute.Addr()
	cfg.KnownHostsFile = writeFile(t, t.TempDir(), "kh", "")
	cfg.HandshakeTimeout = 300 * time.Millisecond
	tun, err := tunnel.New(cfg, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	done := make(chan error, 1)
	go func() { done <- tun.Start(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "handshake not done within 300ms") {
			t.Fatalf("err %v, want a handshake timeout", err)
		}
	case <-time.After(waitBound):
		t.Fatal("handshake never timed out")
	}
}

// TestHostKeyChangesWhileRunning: the jump host comes back with another
// host key; the tunnel refuses it and gives up (StateFailed, Done closed)
// instead of retrying forever or trusting it.
func TestHostKeyChangesWhileRunning(t *testing.T) {
	dir := t.TempDir()
	signer, keyPath := goKey(t, dir, "id")
	jh, err := jumphost.Start(jumphost.WithAuthorizedKeys(signer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	addr := jh.Addr()
	ev := newEvents()
	tun := startTunnel(t, tunnel.Config{
		JumpHost: addr, User: "oob", IdentityFile: keyPath,
		KnownHostsFile: writeFile(t, dir, "kh", jh.KnownHostsLine()),
		Keepalive:      time.Second,
		Forwards:       []tunnel.Forward{{Remote: "localhost:0", Local: "127.0.0.1:22"}},
		Logger:         testLogger(t),
	}, tunnel.WithEvents(ev.fn), tunnel.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
	ev.next(t, tunnel.StateUp)
	jh.Close()
	impostor, err := jumphost.Start(jumphost.WithAuthorizedKeys(signer.PublicKey()), jumphost.WithAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer impostor.Close()
	failed := ev.next(t, tunnel.StateFailed)
	if _, ok := asError[*tunnel.HostKeyChangedError](failed.Err); !ok {
		t.Fatalf("failed with %v, want HostKeyChangedError", failed.Err)
	}
	select {
	case <-tun.Done():
	case <-time.After(waitBound):
		t.Fatal("Done not closed after giving up")
	}
	if st := tun.Status(); st.State != tunnel.StateFailed || !tunnel.IsHostKeyError(st.LastError) {
		t.Fatalf("status %+v", st)
	}
}
