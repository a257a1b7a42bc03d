package tunnel_test

// Tests against a real OpenSSH sshd as the jump host (internal/sshdtest).
// They need root and /usr/sbin/sshd and fail loudly without them.

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/tunnel"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// jumpSetup is a real sshd jump host and the agent's key for it.
type jumpSetup struct {
	sshd    *sshdtest.Server
	dir     string
	key     ssh.PublicKey
	keyPath string
}

// restricted is the authorized_keys option set the product's configs/
// example uses, for one port.
func restricted(port int) string {
	return fmt.Sprintf(`restrict,port-forwarding,permitlisten="localhost:%d",permitopen="localhost:%d"`, port, port)
}

// startJump starts sshd with the agent's key under the given options
// (built from the port the forward will use).
func startJump(t testing.TB, keyOptions func(port int) string, hostKeyTypes ...string) (*jumpSetup, int) {
	t.Helper()
	dir := t.TempDir()
	pub, keyPath := sshdtest.GenerateKey(t, dir, "id_ed25519", "ed25519", "")
	port := sshdtest.FreePort(t)
	s := sshdtest.Start(t, sshdtest.Options{
		AuthorizedKeys:      []sshdtest.AuthorizedKey{{Options: keyOptions(port), Key: pub}},
		HostKeyTypes:        hostKeyTypes,
		ClientAliveInterval: time.Second,
		ClientAliveCountMax: 2,
	})
	return &jumpSetup{sshd: s, dir: dir, key: pub, keyPath: keyPath}, port
}

func (j *jumpSetup) config(t testing.TB, forwards ...tunnel.Forward) tunnel.Config {
	return tunnel.Config{
		JumpHost:         j.sshd.Addr,
		User:             j.sshd.User,
		IdentityFile:     j.keyPath,
		KnownHostsFile:   writeFile(t, j.dir, "known_hosts", j.sshd.KnownHostsLine()),
		Keepalive:        time.Second,
		HandshakeTimeout: 5 * time.Second,
		Forwards:         forwards,
		Logger:           testLogger(t),
	}
}

// TestOpenSSHLoginThroughForward: the owner, on the jump host, runs
// `ssh -p PORT root@localhost echo hello` and lands on the box's sshd.
func TestOpenSSHLoginThroughForward(t *testing.T) {
	jump, port := startJump(t, restricted)
	ownerPub, ownerKey := sshdtest.GenerateKey(t, jump.dir, "owner", "ed25519", "")
	box := sshdtest.StartTarget(t, ownerPub)
	tun := startTunnel(t, jump.config(t, tunnel.Forward{
		Remote: fmt.Sprintf("localhost:%d", port),
		Local:  box.Addr,
	}))
	st := tun.Status()
	if len(st.Forwards) != 1 || st.Forwards[0].BoundPort != port {
		t.Fatalf("bound forwards %+v, want port %d", st.Forwards, port)
	}
	res, err := tun.SelfCheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res[0].Banner, "SSH-2.0-OpenSSH") {
		t.Fatalf("self-check banner %q, want the box sshd's", res[0].Banner)
	}
	// The owner's known_hosts names the box as the forwarded port on the
	// jump host's loopback.
	kh := writeFile(t, jump.dir, "owner_known_hosts", box.KnownHostsLine(fmt.Sprintf("[localhost]:%d", port)))
	args := append(sshdtest.SSHArgs(ownerKey, kh, port, box.User, "localhost"), "echo", "hello")
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s\njump sshd:\n%s\nbox sshd:\n%s", args, err, out, jump.sshd.LogTail(20), box.LogTail(20))
	}
	if strings.TrimSpace(string(out)) != "hello" {
		t.Fatalf("output %q, want hello", out)
	}
	st = tun.Status()
	if st.ForwardedIn == 0 || st.ForwardedOut == 0 {
		t.Fatalf("forwarded bytes not counted: %+v", st)
	}
}

// TestOpenSSHPermitListenRefused: a port the key may not listen on is
// refused, retried for the bounded time, and reported with the port.
func TestOpenSSHPermitListenRefused(t *testing.T) {
	jump, port := startJump(t, restricted)
	other := sshdtest.FreePort(t)
	for other == port {
		other = sshdtest.FreePort(t)
	}
	tun, err := tunnel.New(jump.config(t, tunnel.Forward{
		Remote: fmt.Sprintf("localhost:%d", other),
		Local:  "127.0.0.1:22",
	}), dial, tunnel.WithForwardRetry(time.Second), tunnel.WithBackoff(100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	err = tun.Start(context.Background())
	fe, ok := asError[*tunnel.ForwardError](err)
	if !ok {
		t.Fatalf("err %v, want a ForwardError", err)
	}
	if fe.Port != other || fe.Tries < 2 || !strings.Contains(err.Error(), fmt.Sprint(other)) {
		t.Fatalf("err %v (port %d, tries %d): want port %d named and retried", err, fe.Port, fe.Tries, other)
	}
	t.Logf("reported: %v", err)
}

// TestOpenSSHHostKeys: known_hosts variants against an sshd that has
// ed25519, ECDSA and RSA host keys.
func TestOpenSSHHostKeys(t *testing.T) {
	jump, port := startJump(t, restricted, "ed25519", "ecdsa", "rsa")
	name := knownhosts.Normalize(jump.sshd.Addr)
	ed, ec, rsa := jump.sshd.HostKeys[0], jump.sshd.HostKeys[1], jump.sshd.HostKeys[2]
	stranger, _ := sshdtest.GenerateKey(t, jump.dir, "stranger", "ed25519", "")

	tests := []struct {
		name       string
		knownHosts string
		check      func(t *testing.T, err error)
	}{
		{"ed25519 only (HostKeyAlgorithms pitfall)", knownhosts.Line([]string{name}, ed), ok},
		{"ecdsa only", knownhosts.Line([]string{name}, ec), ok},
		{"rsa only", knownhosts.Line([]string{name}, rsa), ok},
		{"hashed ed25519", knownhosts.Line([]string{knownhosts.HashHostname(name)}, ed), ok},
		{"changed key", knownhosts.Line([]string{name}, stranger), func(t *testing.T, err error) {
			e, isChanged := asError[*tunnel.HostKeyChangedError](err)
			if !isChanged {
				t.Fatalf("err %v, want HostKeyChangedError", err)
			}
			msg := e.Error()
			if !strings.Contains(msg, ssh.FingerprintSHA256(ed)) || !strings.Contains(msg, ssh.FingerprintSHA256(stranger)) {
				t.Fatalf("message does not show offered and expected fingerprints: %s", msg)
			}
			t.Log(msg)
		}},
		{"unknown host", knownhosts.Line([]string{"[elsewhere]:22"}, ed), func(t *testing.T, err error) {
			e, isUnknown := asError[*tunnel.UnknownHostError](err)
			if !isUnknown {
				t.Fatalf("err %v, want UnknownHostError", err)
			}
			if _, changed := asError[*tunnel.HostKeyChangedError](err); changed {
				t.Fatal("unknown host reported as changed")
			}
			if !strings.Contains(e.Error(), "SHA256:") {
				t.Fatalf("no offered fingerprint: %v", e)
			}
			t.Log(e)
		}},
		{"revoked", "@revoked * " + strings.TrimPrefix(knownhosts.Line([]string{"x"}, ed), "x ") + "\n" + knownhosts.Line([]string{name}, ed), func(t *testing.T, err error) {
			if _, revoked := asError[*tunnel.HostKeyRevokedError](err); !revoked {
				t.Fatalf("err %v, want HostKeyRevokedError", err)
			}
			t.Log(err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: "127.0.0.1:22"})
			cfg.KnownHostsFile = writeFile(t, t.TempDir(), "known_hosts", tt.knownHosts+"\n")
			tun, err := tunnel.New(cfg, dial)
			if err != nil {
				t.Fatal(err)
			}
			err = tun.Start(context.Background())
			tun.Close()
			tt.check(t, err)
		})
	}
}

// The known_hosts line the README has the owner make, with
// `ssh-keyscan -t ed25519`, from a jump host offering three key types, is
// one the tunnel accepts (x/crypto would otherwise prefer ECDSA and call
// the ed25519-only entry a mismatch).
func TestOpenSSHKnownHostsFromKeyscan(t *testing.T) {
	jump, port := startJump(t, restricted, "ed25519", "ecdsa", "rsa")
	out, err := exec.Command("ssh-keyscan", "-p", strconv.Itoa(jump.sshd.Port), "-t", "ed25519", "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("ssh-keyscan: %v", err)
	}
	if !strings.Contains(string(out), "ssh-ed25519 ") || strings.Contains(string(out), "ecdsa") {
		t.Fatalf("ssh-keyscan -t ed25519 printed %q", out)
	}
	cfg := jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: "127.0.0.1:22"})
	cfg.KnownHostsFile = writeFile(t, t.TempDir(), "known_hosts", string(out))
	tun, err := tunnel.New(cfg, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if err := tun.Start(context.Background()); err != nil {
		t.Fatalf("known_hosts from ssh-keyscan refused: %v", err)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenSSHRestart: the jump host's sshd dies with all its sessions and
// comes back; the tunnel notices and binds its forward again.
func TestOpenSSHRestart(t *testing.T) {
	jump, port := startJump(t, restricted)
	box := startServer(t, bannerThenEcho)
	ev := newEvents()
	tun := startTunnel(t, jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()}),
		tunnel.WithEvents(ev.fn), tunnel.WithBackoff(100*time.Millisecond, time.Second))
	ev.next(t, tunnel.StateUp)

	jump.sshd.Kill()
	lost := ev.next(t, tunnel.StateDown)
	t.Logf("loss noticed: %v", lost.Err)
	restarted := time.Now()
	jump.sshd.Restart()
	up := ev.next(t, tunnel.StateUp)
	if up.Reconnects != 1 || up.Forwards[0].BoundPort != port {
		t.Fatalf("after restart: %+v", up)
	}
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := jumpSide(t, port)
	defer c.Close()
	banner := make([]byte, 8)
	if _, err := c.Read(banner); err != nil || string(banner) != "SSH-2.0-" {
		t.Fatalf("forward after restart: %q %v", banner, err)
	}
	t.Logf("forward answered %v after sshd restart", time.Since(restarted).Round(time.Millisecond))
}

// TestOpenSSHPortZero: the server picks the port; the tunnel reports it
// and it carries traffic.
func TestOpenSSHPortZero(t *testing.T) {
	jump, _ := startJump(t, func(int) string { return `restrict,port-forwarding` })
	box := startServer(t, answerAfterEOF)
	tun := startTunnel(t, jump.config(t, tunnel.Forward{Remote: "localhost:0", Local: box.Addr()}),
		tunnel.WithSelfCheckHold(200*time.Millisecond))
	st := tun.Status()
	if len(st.Forwards) != 1 || st.Forwards[0].BoundPort == 0 {
		t.Fatalf("forwards %+v: want a real port", st.Forwards)
	}
	if got := roundTrip(t, st.Forwards[0].BoundPort, "zero"); got != "got 4 bytes: zero" {
		t.Fatalf("answer %q", got)
	}
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSSHKeepaliveMiss: sshd frozen with SIGSTOP keeps the TCP
// connection open but answers nothing; keepalives detect it, and the tunnel
// comes back once sshd runs again.
func TestOpenSSHKeepaliveMiss(t *testing.T) {
	jump, port := startJump(t, restricted)
	box := startServer(t, bannerThenEcho)
	ev := newEvents()
	cfg := jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()})
	cfg.Keepalive = 300 * time.Millisecond
	cfg.HandshakeTimeout = 2 * time.Second
	tun := startTunnel(t, cfg, tunnel.WithEvents(ev.fn), tunnel.WithBackoff(100*time.Millisecond, time.Second),
		tunnel.WithForwardRetry(30*time.Second))
	ev.next(t, tunnel.StateUp)

	jump.sshd.Pause()
	resumed := false
	defer func() {
		if !resumed {
			jump.sshd.Resume()
		}
	}()
	down := ev.next(t, tunnel.StateDown)
	if _, isKA := asError[*tunnel.KeepaliveError](down.Err); !isKA {
		t.Fatalf("down because %v, want a KeepaliveError", down.Err)
	}
	jump.sshd.Resume()
	resumed = true
	up := ev.next(t, tunnel.StateUp)
	if up.Reconnects != 1 {
		t.Fatalf("reconnects %d", up.Reconnects)
	}
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSSHNoGoroutinesAfterClose: after Close, and once sshd and the
// local target are gone, nothing of the tunnel is left running.
func TestOpenSSHNoGoroutinesAfterClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	jump, port := startJump(t, restricted)
	box := startServer(t, bannerThenEcho)
	tun, err := tunnel.New(jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()}), dial)
	if err != nil {
		t.Fatal(err)
	}
	if err := tun.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A forwarded connection left open when Close comes.
	held := jumpSide(t, port)
	defer held.Close()
	if _, err := held.Read(make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := tun.SelfCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	tun.Close()
	jump.sshd.Kill()
	box.Close()
	goleak.VerifyNone(t, ignore)
}

// TestOpenSSHSelfCheckNeedsPermitOpen: a key with permitlisten but no
// permitopen binds the forward, but the jump host refuses the self-check's
// direct-tcpip; the failure names that step and OpenSSH's reason.
func TestOpenSSHSelfCheckNeedsPermitOpen(t *testing.T) {
	jump, port := startJump(t, func(port int) string {
		return fmt.Sprintf(`restrict,port-forwarding,permitlisten="localhost:%d",permitopen="localhost:1"`, port)
	})
	box := startServer(t, bannerThenEcho)
	tun := startTunnel(t, jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()}))
	_, err := tun.SelfCheck(context.Background())
	sce, isSCE := asError[*tunnel.SelfCheckError](err)
	if !isSCE || sce.Step != tunnel.StepOpen || !strings.Contains(err.Error(), "prohibited") {
		t.Fatalf("err %v, want step %q refused by the jump host", err, tunnel.StepOpen)
	}
	t.Log(err)
	// The tunnel itself is still up and carries traffic.
	c := jumpSide(t, port)
	defer c.Close()
	b := make([]byte, 8)
	if _, err := c.Read(b); err != nil || string(b) != "SSH-2.0-" {
		t.Fatalf("forward: %q %v", b, err)
	}
}
