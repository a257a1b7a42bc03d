// Package sshdtest runs a real OpenSSH sshd for tests, on 127.0.0.1 or on a
// given address inside a network namespace: a temporary config, its own host
// keys, an authorized_keys file with options, and control over the whole
// process tree (kill, restart on the same port, freeze with SIGSTOP). It
// fails the test loudly when sshd cannot run; it never skips.
package sshdtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHDPath is where the tests expect OpenSSH's server.
const SSHDPath = "/usr/sbin/sshd"

// startTimeout bounds how long sshd may take to say it is listening.
const startTimeout = 15 * time.Second

// AuthorizedKey is one authorized_keys line: options (e.g.
// `restrict,port-forwarding,permitlisten="localhost:2222"`) and a key.
type AuthorizedKey struct {
	Options string
	Key     ssh.PublicKey
}

// String renders the line as sshd reads it.
func (k AuthorizedKey) String() string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Key)))
	if k.Options != "" {
		line = k.Options + " " + line
	}
	return line
}

// Options configures a Server. The zero value is a server with an ed25519
// host key that accepts nobody.
type Options struct {
	// AuthorizedKeys are written to the server's AuthorizedKeysFile.
	AuthorizedKeys []AuthorizedKey
	// HostKeyTypes are the host key types to generate, in ssh-keygen's
	// names: "ed25519" (default), "ecdsa", "rsa".
	HostKeyTypes []string
	// ClientAliveInterval and ClientAliveCountMax set the server's probe of
	// dead clients (0: sshd's defaults, i.e. off).
	ClientAliveInterval time.Duration
	ClientAliveCountMax int
	// Port to listen on; 0 picks a free one.
	Port int
	// Config holds extra sshd_config lines.
	Config []string
	// Netns runs sshd inside this named network namespace (`ip netns exec
	// NETNS sshd ...`); empty: the test's own.
	Netns string
	// ListenHost is the address to listen on (default 127.0.0.1), e.g. a
	// jump host's address inside Netns.
	ListenHost string
}

// Server is a running sshd and the files that belong to it.
type Server struct {
	// Addr is "host:port" (host: Options.ListenHost, default 127.0.0.1).
	Addr string
	// Port is the listening port (kept across Restart).
	Port int
	// User is the login name the tests authenticate as (the current user).
	User string
	// Dir holds the config, host keys and authorized_keys.
	Dir string
	// HostKeys are the public host keys in the order of Options.HostKeyTypes.
	HostKeys []ssh.PublicKey

	t      testing.TB
	config string
	netns  string
	host   string

	mu      sync.Mutex // guards cmd, exited and log
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	readers sync.WaitGroup
	log     logRing
}

// Start writes a config and starts sshd, failing t if it cannot. The server
// and every process it forked are killed when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	requireSSHD(t)
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshdtest: current user: %v", err)
	}
	dir := t.TempDir()
	s := &Server{t: t, Dir: dir, User: u.Username, log: logRing{max: 400}, netns: opts.Netns, host: opts.ListenHost}
	if s.host == "" {
		s.host = "127.0.0.1"
	}
	if s.netns != "" {
		if _, err := exec.LookPath("ip"); err != nil {
			t.Fatalf("sshdtest: iproute2's ip is needed to run sshd in namespace %s: %v", s.netns, err)
		}
	}

	types := opts.HostKeyTypes
	if len(types) == 0 {
		types = []string{"ed25519"}
	}
	var hostKeyLines []string
	for _, typ := range types {
		_, path := GenerateKey(t, dir, "ssh_host_"+typ+"_key", typ, "")
		pub, err := readPublicKey(path + ".pub")
		if err != nil {
			t.Fatalf("sshdtest: %v", err)
		}
		s.HostKeys = append(s.HostKeys, pub)
		hostKeyLines = append(hostKeyLines, "HostKey "+path)
	}
	var ak bytes.Buffer
	for _, k := range opts.AuthorizedKeys {
		ak.WriteString(k.String() + "\n")
	}
	akPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(akPath, ak.Bytes(), 0o600); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}

	for try := 0; ; try++ {
		s.Port = opts.Port
		if s.Port == 0 {
			s.Port = FreePort(t)
		}
		s.Addr = net.JoinHostPort(s.host, strconv.Itoa(s.Port))
		s.config = filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(s.config, []byte(configText(s, opts, hostKeyLines, akPath)), 0o600); err != nil {
			t.Fatalf("sshdtest: %v", err)
		}
		err := s.start()
		if err == nil {
			break
		}
		// Another process may have taken the free port in between.
		if opts.Port == 0 && try < 3 && strings.Contains(s.LogTail(20), "Address already in use") {
			continue
		}
		t.Fatalf("sshdtest: %v\nsshd log:\n%s", err, s.LogTail(40))
	}
	t.Cleanup(s.Kill)
	return s
}

func configText(s *Server, opts Options, hostKeys []string, akPath string) string {
	lines := []string{
		"ListenAddress " + s.Addr,
		"PidFile none",
		"AuthorizedKeysFile " + akPath,
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding yes",
		"GatewayPorts no",
		"UseDNS no",
		"PrintMotd no",
		"MaxStartups 100",
		"LogLevel VERBOSE",
	}
	lines = append(lines, hostKeys...)
	if opts.ClientAliveInterval > 0 {
		secs := int(opts.ClientAliveInterval.Round(time.Second) / time.Second)
		lines = append(lines, fmt.Sprintf("ClientAliveInterval %d", max(secs, 1)))
	}
	if opts.ClientAliveCountMax > 0 {
		lines = append(lines, fmt.Sprintf("ClientAliveCountMax %d", opts.ClientAliveCountMax))
	}
	lines = append(lines, opts.Config...)
	return strings.Join(lines, "\n") + "\n"
}

func requireSSHD(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Fatalf("sshdtest: OpenSSH server not found at %s (install openssh-server, e.g. `make test-deps`): %v", SSHDPath, err)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("sshdtest: sshd tests must run as root (privilege separation, /run/sshd)")
	}
	// sshd refuses to start without its privilege-separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
}

// start launches sshd and waits until it reports it is listening.
func (s *Server) start() error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	argv := []string{SSHDPath, "-D", "-e", "-f", s.config}
	if s.netns != "" {
		// ip execs sshd in place (no fork), so the pid is sshd's own.
		argv = append([]string{"ip", "netns", "exec", s.netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = pw
	cmd.Stderr = pw
	// Its own process group, so a test's Ctrl-C does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start sshd: %w", err)
	}
	pw.Close()
	ready := make(chan struct{})
	var once sync.Once
	want := fmt.Sprintf("Server listening on %s port %d", s.host, s.Port)
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			s.log.add(line)
			if strings.Contains(line, want) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-exited:
		return fmt.Errorf("sshd exited before listening: %v", cmd.ProcessState)
	case <-time.After(startTimeout):
		s.Kill()
		return fmt.Errorf("sshd did not report listening on port %d within %v", s.Port, startTimeout)
	}
}

// Pid is the listening sshd's process id (0 when not running).
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// HostKey is the first host key.
func (s *Server) HostKey() ssh.PublicKey { return s.HostKeys[0] }

// KnownHostsLine is a known_hosts line for every host key under the name a
// client uses for Addr ("[127.0.0.1]:port"), or under the given names.
func (s *Server) KnownHostsLine(names ...string) string {
	if len(names) == 0 {
		names = []string{knownhosts.Normalize(s.Addr)}
	}
	var b strings.Builder
	for _, k := range s.HostKeys {
		b.WriteString(knownhosts.Line(names, k) + "\n")
	}
	return b.String()
}

// Kill sends SIGKILL to the listener and every process it forked (the
// per-connection children, which a plain kill of the listener leaves
// running), then waits for them. It is what a crashed or rebooted jump host
// looks like to a client. Killing a stopped server is fine.
func (s *Server) Kill() {
	s.signalTree(syscall.SIGKILL)
	s.wait()
}

// Stop ends the server: SIGTERM to the listener, SIGKILL to the
// per-connection children, and waits.
func (s *Server) Stop() {
	pids := s.freezeTree()
	for i, pid := range pids {
		sig := syscall.SIGKILL
		if i == 0 {
			sig = syscall.SIGTERM
		}
		syscall.Kill(pid, sig)
		syscall.Kill(pid, syscall.SIGCONT)
	}
	s.wait()
}

// Restart kills the whole server and starts it again on the same port with
// the same keys and config.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		s.t.Fatalf("sshdtest: restart: %v\nsshd log:\n%s", err, s.LogTail(40))
	}
}

// Pause freezes the listener and every session process with SIGSTOP: TCP
// connections stay open (the kernel still acknowledges) but nothing answers,
// which is how a half-open link looks to a client.
func (s *Server) Pause() { s.freezeTree() }

// Resume continues what Pause froze.
func (s *Server) Resume() {
	for _, pid := range s.tree() {
		syscall.Kill(pid, syscall.SIGCONT)
	}
}

// LogTail returns the last n lines sshd wrote to stderr.
func (s *Server) LogTail(n int) string { return s.log.tail(n) }

// WaitLog waits until sshd has logged a line containing substr, or the
// timeout passes.
func (s *Server) WaitLog(ctx context.Context, substr string) bool {
	return s.log.wait(ctx, substr)
}

func (s *Server) wait() {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited != nil {
		<-exited
	}
	// The log pipe closes when the last process holding it is gone.
	s.readers.Wait()
	// Forget the pid so a later signal cannot reach a process that reused it.
	s.mu.Lock()
	if s.exited == exited {
		s.cmd, s.exited = nil, nil
	}
	s.mu.Unlock()
}

func (s *Server) signalTree(sig syscall.Signal) {
	for _, pid := range s.freezeTree() {
		syscall.Kill(pid, sig)
	}
}

// freezeTree stops the listener first (so it forks no more), then its
// descendants until the set no longer grows, and returns them, listener
// first. Collecting the tree before killing matters: children of a dead
// parent are re-parented and could no longer be found.
func (s *Server) freezeTree() []int {
	pid := s.Pid()
	if pid == 0 {
		return nil
	}
	var pids []int
	seen := map[int]bool{}
	for {
		grew := false
		for _, p := range append([]int{pid}, descendants(pid)...) {
			if !seen[p] {
				seen[p] = true
				pids = append(pids, p)
				syscall.Kill(p, syscall.SIGSTOP)
				grew = true
			}
		}
		if !grew {
			return pids
		}
	}
}

func (s *Server) tree() []int {
	pid := s.Pid()
	if pid == 0 {
		return nil
	}
	return append([]int{pid}, descendants(pid)...)
}

// descendants lists every process below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may
		// itself hold spaces: "state ppid ...".
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshdtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logRing keeps the last lines of sshd's log and wakes waiters on new ones.
type logRing struct {
	mu      sync.Mutex // guards lines and changed
	max     int
	lines   []string
	changed chan struct{}
}

func (r *logRing) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	if len(r.lines) > r.max {
		r.lines = r.lines[len(r.lines)-r.max:]
	}
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

func (r *logRing) tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lines
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func (r *logRing) wait(ctx context.Context, substr string) bool {
	for {
		r.mu.Lock()
		for _, l := range r.lines {
			if strings.Contains(l, substr) {
				r.mu.Unlock()
				return true
			}
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}
