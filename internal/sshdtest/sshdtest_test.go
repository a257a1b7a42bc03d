package sshdtest

import (
	"bufio"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func banner(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestServerLifecycle(t *testing.T) {
	dir := t.TempDir()
	pub, keyPath := GenerateKey(t, dir, "id", "ed25519", "")
	s := Start(t, Options{
		AuthorizedKeys: []AuthorizedKey{{Options: "restrict,port-forwarding", Key: pub}},
		HostKeyTypes:   []string{"ed25519", "ecdsa"},
	})
	if got := banner(t, s.Addr); !strings.HasPrefix(got, "SSH-2.0-OpenSSH") {
		t.Fatalf("banner %q", got)
	}
	if len(s.HostKeys) != 2 || s.HostKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("host keys %v", s.HostKeys)
	}
	khPath := WriteFile(t, dir, "known_hosts", s.KnownHostsLine())
	cb, err := knownhosts.New(khPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
		User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: cb, HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	})
	if err != nil {
		t.Fatalf("login: %v\n%s", err, s.LogTail(20))
	}
	defer client.Close()
	if !strings.Contains(s.LogTail(50), "Accepted publickey") {
		t.Fatalf("log tail lacks the login:\n%s", s.LogTail(50))
	}

	// Kill ends the session processes too, not just the listener.
	lost := make(chan error, 1)
	go func() { lost <- client.Wait() }()
	s.Kill()
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatal("session survived Kill")
	}
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatal("still listening after Kill")
	}
	s.Restart()
	if got := banner(t, s.Addr); !strings.HasPrefix(got, "SSH-2.0-OpenSSH") {
		t.Fatalf("banner after restart %q", got)
	}
	s.Pause()
	s.Resume()
	if got := banner(t, s.Addr); !strings.HasPrefix(got, "SSH-2.0-OpenSSH") {
		t.Fatalf("banner after resume %q", got)
	}
	s.Stop()
	s.Kill() // after Stop: a no-op, never a signal to a reused pid
}

func TestAuthorizedKeyLine(t *testing.T) {
	pub, _ := GenerateKey(t, t.TempDir(), "k", "ed25519", "")
	line := AuthorizedKey{Options: `permitlisten="localhost:1"`, Key: pub}.String()
	if !strings.HasPrefix(line, `permitlisten="localhost:1" ssh-ed25519 `) {
		t.Fatalf("line %q", line)
	}
	if _, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil || len(opts) != 1 {
		t.Fatalf("parse back: %v %v", opts, err)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
