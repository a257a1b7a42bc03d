//go:build linux

package tunnel_test

// A link that drops and is dialed again, for real: the agent's side is a
// veth named ppp0 in a network namespace, bound to with SO_BINDTODEVICE as
// the link's dialer does, deleted and made again (a new interface, with a
// new index, under the old name) as pppd's ppp0 is; the jump host is
// OpenSSH's sshd in the jump namespace. They need root, sshd and ip.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/oobd/oobd/internal/netnstest"
	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/tunnel"
)

// linkLab is a netnstest topology with a PPP-like link between the agent
// and the jump namespaces.
type linkLab struct {
	t  *testing.T
	tp *netnstest.Topology
}

const (
	labIfname = "ppp0"
	labPeer   = "10.64.0.1"
)

func newLinkLab(t *testing.T) *linkLab {
	t.Helper()
	return &linkLab{t: t, tp: netnstest.New(t)}
}

func (l *linkLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// up makes ppp0 with the local address (its far end in the jump
// namespace), routes the jump host through it, and returns once both ends
// pass packets.
func (l *linkLab) up(local string) {
	l.t.Helper()
	l.upNear(local)
	l.upFar(local)
}

// upNear makes ppp0 with its address and route, its far end in the jump
// namespace still down: the interface exists, nothing passes yet.
func (l *linkLab) upNear(local string) {
	l.t.Helper()
	a, j := l.tp.Agent, l.tp.Jump
	l.ip("-n", a, "link", "add", labIfname, "type", "veth", "peer", "name", "far0", "netns", j)
	l.ip("-n", a, "addr", "add", local, "peer", labPeer, "dev", labIfname)
	l.ip("-n", a, "link", "set", labIfname, "up")
	l.ip("-n", a, "route", "add", netnstest.JumpIP.String()+"/32", "via", labPeer, "dev", labIfname)
}

// upFar brings the far end up, routed back to local, and returns once
// both ends pass packets.
func (l *linkLab) upFar(local string) {
	l.t.Helper()
	j := l.tp.Jump
	l.ip("-n", j, "addr", "add", labPeer, "peer", local, "dev", "far0")
	l.ip("-n", j, "link", "set", "far0", "up")
	l.waitRunning(l.tp.Agent, labIfname)
	l.waitRunning(j, "far0")
}

// cut deletes the link, both ends: what the jump host sends to the agent
// goes nowhere, and the agent's sockets bound to ppp0 have no interface.
func (l *linkLab) cut() { l.ip("-n", l.tp.Agent, "link", "del", labIfname) }

// waitRunning waits for the kernel to report the interface running (its
// link watch has activated it: before that it drops what it is given).
func (l *linkLab) waitRunning(ns, name string) {
	l.t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		l.t.Fatal(err)
	}
	defer h.Close()
	ch := make(chan netlink.LinkUpdate)
	done := make(chan struct{})
	defer func() {
		close(done)
		for range ch {
		}
	}()
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{Namespace: &h, ListExisting: true}); err != nil {
		l.t.Fatal(err)
	}
	timeout := time.After(waitBound)
	for {
		select {
		case u, ok := <-ch:
			if !ok {
				l.t.Fatal("link notifications ended")
			}
			if u.Attrs().Name == name && u.Attrs().RawFlags&syscall.IFF_RUNNING != 0 {
				return
			}
		case <-timeout:
			l.t.Fatalf("%s in %s not running within %v", name, ns, waitBound)
		}
	}
}

// dial dials from the agent namespace through ppp0 only, as the link's
// dialer does on Linux (SO_BINDTODEVICE by name).
func (l *linkLab) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := netnstest.Do(l.tp.Agent, func() error {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var berr error
			if err := rc.Control(func(fd uintptr) { berr = unix.BindToDevice(int(fd), labIfname) }); err != nil {
				return err
			}
			return berr
		}}
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// rebind binds an existing socket to the ppp0 there is now, as the agent
// does on Linux after a redial. The name is resolved in the socket's own
// namespace, whatever thread asks.
func rebind(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%T has no socket", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var berr error
	if err := rc.Control(func(fd uintptr) { berr = unix.BindToDevice(int(fd), labIfname) }); err != nil {
		return err
	}
	return berr
}

// ownerConn is the owner's connection to the forward, made on the jump
// host, holding the local target's banner read.
func (l *linkLab) ownerConn(port int) (net.Conn, error) {
	var c net.Conn
	err := netnstest.Do(l.tp.Jump, func() error {
		var err error
		c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), waitBound)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(waitBound))
	defer c.SetDeadline(time.Time{})
	line := make([]byte, len("SSH-2.0-fake_1.0\r\n"))
	if _, err := io.ReadFull(c, line); err != nil {
		c.Close()
		return nil, fmt.Errorf("banner through the forward: %w", err)
	}
	return c, nil
}

// jump starts sshd in the jump namespace with the agent's key and the
// jump host's ClientAlive settings (0: none).
func (l *linkLab) jump(clientAlive time.Duration) (*jumpSetup, int) {
	l.t.Helper()
	dir := l.t.TempDir()
	pub, keyPath := sshdtest.GenerateKey(l.t, dir, "id_ed25519", "ed25519", "")
	port := sshdtest.FreePort(l.t)
	opts := sshdtest.Options{
		Netns: l.tp.Jump, ListenHost: netnstest.JumpIP.String(), Port: 22,
		AuthorizedKeys: []sshdtest.AuthorizedKey{{Options: restricted(port), Key: pub}},
	}
	if clientAlive > 0 {
		opts.ClientAliveInterval, opts.ClientAliveCountMax = clientAlive, 2
	}
	return &jumpSetup{sshd: sshdtest.Start(l.t, opts), dir: dir, key: pub, keyPath: keyPath}, port
}

// redialed is one run of a link that drops and comes back.
type redialed struct {
	lab   *linkLab
	jump  *jumpSetup
	port  int
	tun   *tunnel.Tunnel
	owner net.Conn // the owner's connection through the forward, made before the drop
}

// startRedial brings up the link with address first, the jump host (with
// its ClientAlive interval) and the tunnel (with its keepalive interval),
// and an owner's connection through the forward.
func startRedial(t *testing.T, first string, clientAlive, keepalive time.Duration) *redialed {
	lab := newLinkLab(t)
	lab.up(first)
	jump, port := lab.jump(clientAlive)
	box := startServer(t, bannerThenEcho)
	cfg := jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()})
	cfg.Keepalive = keepalive
	tun := startTunnelVia(t, cfg, lab.dial, tunnel.WithBackoff(100*time.Millisecond, time.Second))
	owner, err := lab.ownerConn(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	echoes(t, owner, "before")
	return &redialed{lab: lab, jump: jump, port: port, tun: tun, owner: owner}
}

// redial drops the link and makes it again with address next, and
// resumes the tunnel on it; it returns how long from the new link passing
// packets until the forward answered the self-check again. With farAfterRebind
// the far end only passes packets once the old connection is rebound (it
// must be rebound).
func (r *redialed) redial(t *testing.T, next string, rebindFn func(net.Conn) error, farAfterRebind bool) time.Duration {
	t.Helper()
	if err := r.tun.Suspend(); err != nil {
		t.Fatal(err)
	}
	r.lab.cut()
	var start time.Time // when the new link passes packets
	if farAfterRebind {
		r.lab.upNear(next)
		inner := rebindFn
		rebindFn = func(c net.Conn) error {
			err := inner(c)
			r.lab.upFar(next)
			start = time.Now()
			return err
		}
	} else {
		r.lab.up(next)
		start = time.Now()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	err := r.tun.Resume(ctx, tunnel.Path{Dial: r.lab.dial, LocalIP: netip.MustParseAddr(next), Rebind: rebindFn})
	if err != nil {
		t.Fatalf("resume: %v\nsshd:\n%s", err, r.jump.sshd.LogTail(30))
	}
	res, err := r.tun.SelfCheck(ctx)
	if err != nil {
		t.Fatalf("self-check after the redial: %v", err)
	}
	if res[0].Forward.BoundPort != r.port {
		t.Fatalf("forward answered on port %d, want %d", res[0].Forward.BoundPort, r.port)
	}
	return time.Since(start)
}

// logins counts the agent's logins at the jump host.
func (r *redialed) logins() int {
	return strings.Count(r.jump.sshd.LogTail(400), "Accepted publickey for "+r.jump.sshd.User)
}

// TestRedialSameAddressKeepsTheConnection: the new ppp0 has the old
// address. Rebound to it, the SSH connection answers; the tunnel keeps it
// with its forward (no new login, no new tcpip-forward), and the owner's
// connection through the forward carries on.
func TestRedialSameAddressKeepsTheConnection(t *testing.T) {
	// Whatever of the jump host's reaches the new ppp0 before the rebind
	// is answered with a reset (see TestRedialSameAddressNeedsRebind) and
	// ends its session: the tunnel then connects again, the other outcome
	// (a retransmission of what the jump host sent just before the drop
	// would do it). Here the far end passes packets only once the
	// connection is rebound, and the jump host has no ClientAlive. The
	// probe's deadline (the keepalive interval) leaves time for a
	// retransmission that TCP's backoff holds back.
	r := startRedial(t, "10.64.0.2", 0, 5*time.Second)
	took := r.redial(t, "10.64.0.2", rebind, true)
	t.Logf("same address: the forward answered %v after the new link was up (connection kept)", took.Round(time.Millisecond))
	if n := r.tun.Reconnects(); n != 0 {
		t.Fatalf("reconnects %d, want the connection kept", n)
	}
	if n := r.logins(); n != 1 {
		t.Fatalf("%d logins at the jump host, want 1:\n%s", n, r.jump.sshd.LogTail(40))
	}
	echoes(t, r.owner, "after")
}

// TestRedialSameAddressNeedsRebind: without the rebind, a socket bound
// with SO_BINDTODEVICE to the old ppp0 cannot use the new one (the binding
// is by interface index), so the keepalive goes unanswered; the tunnel
// connects again and its forward is granted once the jump host has let
// the old session go.
func TestRedialSameAddressNeedsRebind(t *testing.T) {
	r := startRedial(t, "10.64.0.2", time.Second, time.Second)
	took := r.redial(t, "10.64.0.2", nil, false)
	t.Logf("same address, no rebind: the forward answered %v after the new link was up (connected again)", took.Round(time.Millisecond))
	if n := r.tun.Reconnects(); n != 1 {
		t.Fatalf("reconnects %d, want 1", n)
	}
	if n := r.logins(); n != 2 {
		t.Fatalf("%d logins at the jump host, want 2:\n%s", n, r.jump.sshd.LogTail(40))
	}
	r.owner.SetDeadline(time.Now().Add(waitBound))
	if _, err := r.owner.Read(make([]byte, 1)); err == nil {
		t.Fatal("the owner's connection through the old session still reads")
	}
	t.Logf("sshd on the old session:\n%s", grepLines(r.jump.sshd.LogTail(400), "from remote host"))
}

// TestRedialOtherAddressWaitsForThePort: the new ppp0 has another
// address. The old connection is let go without a probe; the new one's
// forward is refused ("Address already in use" at the jump host) until
// sshd's ClientAlive probes give up on the old session, then granted on
// the same port.
func TestRedialOtherAddressWaitsForThePort(t *testing.T) {
	// ClientAlive 2s x 2: the old session outlives the redial by seconds
	// even on a busy machine, so the refusal is certain.
	r := startRedial(t, "10.64.0.2", 2*time.Second, time.Second)
	took := r.redial(t, "10.64.0.3", rebind, false)
	t.Logf("other address: the forward answered %v after the new link was up (connected again once ClientAlive 2s x 2 freed the port)", took.Round(time.Millisecond))
	log := r.jump.sshd.LogTail(400)
	for _, want := range []string{"Address already in use", "Timeout, client not responding", "Connection from 10.64.0.3 "} {
		if !strings.Contains(log, want) {
			t.Errorf("sshd did not log %q:\n%s", want, log)
		}
	}
	if n := r.tun.Reconnects(); n != 1 {
		t.Fatalf("reconnects %d, want 1", n)
	}
	r.owner.SetDeadline(time.Now().Add(waitBound))
	if _, err := r.owner.Read(make([]byte, 1)); err == nil {
		t.Fatal("the owner's connection through the old session still reads")
	}
	owner, err := r.lab.ownerConn(r.port)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	echoes(t, owner, "new")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
