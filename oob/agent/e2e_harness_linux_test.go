//go:build linux

package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/agenttest"
	"github.com/oobd/oobd/internal/netnstest"
	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/modem/modemsim"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The end-to-end tests (TestE2E*; as root: go test -race -count=1 -run E2E
// -v ./oob/agent/) run the real oobd binary as `oobd run` inside the
// agent namespace of a netnstest topology, with the modem simulator on a
// pty in this process, the test dialer (fakeppp) as link.up_command, a real
// OpenSSH sshd as the jump host in the jump namespace, the box's own sshd
// in the agent namespace, and a fake Pushover API in the jump namespace.

const (
	e2eOwner    = "+46701234567"
	e2eStranger = "+46709999999"
	e2eSecret   = "Tr1gger-W0rd-77"
	e2eToken    = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
	e2eUserKey  = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
	// remotePort is the forward's port on the jump host's loopback.
	remotePort = 31337
	// boxPort is the box's own sshd, on 127.0.0.1 in the agent namespace.
	boxPort = 2222
	// boxGreeting is what the owner's command prints through the tunnel.
	boxGreeting = "hello from the box"
)

// bins are the binaries TestMain builds once.
var bins struct {
	oobd, fakeppp string
	err           error
}

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() != 0 {
			// The tests fail, saying that they need root.
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "oobd-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bins.oobd = filepath.Join(dir, "oobd")
		bins.fakeppp = filepath.Join(dir, "fakeppp")
		args := []string{"build", "-o", bins.oobd}
		if raceEnabled {
			// The daemon under test is checked for races too.
			args = append(args, "-race")
		}
		builds := [][]string{
			append(args, "../../cmd/oobd"),
			{"build", "-o", bins.fakeppp, "../link/testdata/fakeppp"},
		}
		for _, b := range builds {
			if out, err := exec.Command("go", b...).CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("go %s: %v\n%s", strings.Join(b, " "), err, out)
				break
			}
		}
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintf(os.Stderr, "goroutines left after the tests: %v\n", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// setup is what one test changes in the standard world.
type setup struct {
	fakeppp        []string // extra fakeppp flags
	dialerScript   bool     // up_command is a shell script that runs fakeppp as its child
	health         bool     // health.listen on a free loopback port of the agent namespace (world.health)
	attempts       int      // link.attempts (default 2)
	duration       time.Duration
	schedule       string // trigger.schedule (default "@every 1h")
	dataPort       bool   // a two-port modem
	jumpName       string // jump host by name, resolved via link.dns
	wrongHostKey   bool   // known_hosts holds another key for the jump host
	pushStatus     int    // the fake Pushover's HTTP status (default 200)
	simOpts        []modemsim.Option
	beforeStart    func(w *world) // runs before oobd starts
	counterStart   int            // initial value of fakeppp's run counter
	commandTimeout time.Duration  // modem.command_timeout (default 2s)
	keepalive      time.Duration  // tunnel.keepalive (default 1s)
	clientAlive    time.Duration  // the jump host's ClientAliveInterval, with CountMax 2 (default 2s)
	maxFailures    int            // trigger.max_failures (default: the config's)
	// linkAddrs makes each dialer run take its address from a file the
	// test writes (setLinkAddr; first 10.64.0.2), as a carrier may give
	// a redialed link another address.
	linkAddrs bool
}

// world is one test's topology, servers, config and running agent.
type world struct {
	t         *testing.T
	s         setup
	tp        *netnstest.Topology
	dir       string
	stateDir  string
	cfgPath   string
	counter   string
	simulator *modemsim.Simulator
	jump      *sshdtest.Server
	box       *sshdtest.Server
	push      *fakePushover
	dns       *netnstest.DNSServer
	sshCfg    string // the owner's ssh_config
	script    string // the dialer wrapper script, when setup.dialerScript
	health    string // health.listen, when setup.health
	addrFile  string // the next dialer run's address, with setup.linkAddrs
	agent     *agentProc
	agents    []*agentProc // every oobd run, for the secret check
}

func newWorld(t *testing.T, s setup) *world {
	t.Helper()
	netnstest.RequireRoot(t)
	if _, err := os.Stat(sshdtest.SSHDPath); err != nil {
		t.Fatalf("e2e: OpenSSH's sshd is needed: %v", err)
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("e2e: OpenSSH's ssh client is needed: %v", err)
	}
	if bins.err != nil {
		t.Fatalf("e2e: building the binaries: %v", bins.err)
	}
	if s.attempts == 0 {
		s.attempts = 2
	}
	if s.duration == 0 {
		s.duration = 8 * time.Second
	}
	if s.schedule == "" {
		s.schedule = "@every 1h"
	}
	if s.pushStatus == 0 {
		s.pushStatus = http.StatusOK
	}
	if s.commandTimeout == 0 {
		s.commandTimeout = 2 * time.Second
	}
	if s.keepalive == 0 {
		s.keepalive = time.Second
	}
	if s.clientAlive == 0 {
		s.clientAlive = 2 * time.Second
	}
	w := &world{t: t, s: s, dir: t.TempDir()}
	w.tp = netnstest.New(t)

	w.stateDir = filepath.Join(w.dir, "state")
	must(t, os.MkdirAll(w.stateDir, 0o700))
	w.counter = filepath.Join(w.dir, "fakeppp.count")
	must(t, os.WriteFile(w.counter, []byte(strconv.Itoa(s.counterStart)), 0o600))

	// Keys: the agent's (tunnel) and the owner's (ssh -J).
	agentPub, agentKey := sshdtest.GenerateKey(t, w.dir, "id_agent", "ed25519", "")
	ownerPub, ownerKey := sshdtest.GenerateKey(t, w.dir, "id_owner", "ed25519", "")
	fwd := fmt.Sprintf("localhost:%d", remotePort)
	w.jump = sshdtest.Start(t, sshdtest.Options{
		Netns: w.tp.Jump, ListenHost: netnstest.JumpIP.String(), Port: 22,
		AuthorizedKeys: []sshdtest.AuthorizedKey{
			{Options: fmt.Sprintf(`restrict,port-forwarding,permitlisten="%s",permitopen="%s"`, fwd, fwd), Key: agentPub},
			{Options: fmt.Sprintf(`restrict,port-forwarding,permitopen="%s"`, fwd), Key: ownerPub},
		},
		ClientAliveInterval: s.clientAlive, ClientAliveCountMax: 2,
	})
	w.box = sshdtest.Start(t, sshdtest.Options{
		Netns: w.tp.Agent, Port: boxPort,
		AuthorizedKeys: []sshdtest.AuthorizedKey{{Key: ownerPub}},
	})

	// The owner's client config: -F is passed on to the ProxyJump ssh,
	// -o options are not.
	ownerKH := sshdtest.WriteFile(t, w.dir, "owner_known_hosts",
		w.jump.KnownHostsLine(), w.box.KnownHostsLine(fmt.Sprintf("[localhost]:%d", remotePort)))
	w.sshCfg = sshdtest.WriteFile(t, w.dir, "ssh_config", strings.Join([]string{
		"Host *",
		"  IdentityFile " + ownerKey,
		"  IdentitiesOnly yes",
		"  BatchMode yes",
		"  StrictHostKeyChecking yes",
		"  UserKnownHostsFile " + ownerKH,
		"  GlobalKnownHostsFile /dev/null",
		"  ConnectTimeout 10",
		"  LogLevel ERROR",
		"",
	}, "\n"))

	jumpHost := netnstest.JumpIP.String()
	if s.jumpName != "" {
		jumpHost = s.jumpName
		var err error
		w.dns, err = netnstest.ServeDNS(w.tp.Jump, netnstest.JumpDNSIP.String()+":53",
			map[string]netip.Addr{s.jumpName + ".": netnstest.JumpIP})
		must(t, err)
		t.Cleanup(func() { w.dns.Close() })
	}
	kh := w.jump.KnownHostsLine(jumpHost)
	if s.wrongHostKey {
		other, _ := sshdtest.GenerateKey(t, w.dir, "other_host_key", "ed25519", "")
		kh = knownhosts.Line([]string{jumpHost}, other) + "\n"
	}
	khPath := sshdtest.WriteFile(t, w.dir, "known_hosts", kh)

	var err error
	w.push, err = startFakePushover(w.tp.Jump, s.pushStatus)
	must(t, err)
	t.Cleanup(w.push.Close)

	simOpts := append([]modemsim.Option{}, s.simOpts...)
	w.simulator, err = modemsim.New(simOpts...)
	must(t, err)
	t.Cleanup(func() { w.simulator.Close() })

	secretPath := sshdtest.WriteFile(t, w.dir, "secret", e2eSecret+"\n")
	tokenPath := sshdtest.WriteFile(t, w.dir, "pushover.token", e2eToken+"\n")
	up := []string{bins.fakeppp, "-jump-netns", w.tp.JumpNetnsPath(), "-counter", w.counter}
	if s.linkAddrs {
		// A wrapper execs fakeppp (the same process, as the link knows
		// its dialer) with the address the test set last.
		w.addrFile = sshdtest.WriteFile(t, w.dir, "link_addr", "10.64.0.2")
		wrapper := sshdtest.WriteFile(t, w.dir, "fakeppp-addr.sh", "#!/bin/sh\n",
			"exec "+strconv.Quote(bins.fakeppp)+` -local "$(cat `+strconv.Quote(w.addrFile)+`)" "$@"`+"\n")
		must(t, os.Chmod(wrapper, 0o700))
		up[0] = wrapper
	}
	up = append(up, s.fakeppp...)
	if s.dialerScript {
		// A wrapper as owners write them: the dialer is its child, not
		// exec'd, so the recorded process is /bin/sh.
		w.script = filepath.Join(w.dir, "dial-oob.sh")
		body := "#!/bin/sh\necho \"wrapper: dialing\"\n" + strings.Join(up, " ") + "\necho \"wrapper: dialer ended: $?\"\n"
		must(t, os.WriteFile(w.script, []byte(body), 0o755))
		up = []string{w.script}
	}
	dataPort := ""
	if s.dataPort {
		// oobd never opens the data port: a plain file stands in for it.
		dataPort = sshdtest.WriteFile(t, w.dir, "ttyDATA", "")
	}
	dns := "[]"
	if s.jumpName != "" {
		dns = "[" + netnstest.JumpDNSIP.String() + "]"
	}
	cfg := fmt.Sprintf(`state_dir: %s
modem:
  port: %s
  data_port: %q
  command_timeout: %s
trigger:
  schedule: %q
  urc: true
  senders: [%q]
  secret_file: %s
link:
  up_command: %s
  interface: ppp0
  dns: %s
  attempts: %d
  up_timeout: 20s
  pin_route: true
session:
  duration: %s
  max_duration: 1h
tunnel:
  jump_host: %s
  user: %s
  identity_file: %s
  known_hosts: %s
  keepalive: %s
  forwards:
    - remote: %s
      local: 127.0.0.1:%d
notify:
  pushover:
    token_file: %s
    user_key: %s
    api_url: %s
`, w.stateDir, w.simulator.Path(), dataPort, s.commandTimeout, s.schedule, e2eOwner, secretPath,
		agenttest.YAMLList(up), dns, s.attempts, s.duration,
		net.JoinHostPort(jumpHost, "22"), w.jump.User, agentKey, khPath, s.keepalive,
		fwd, boxPort, tokenPath, e2eUserKey, w.push.URL())
	if s.maxFailures > 0 {
		cfg = strings.Replace(cfg, "\ntrigger:\n", fmt.Sprintf("\ntrigger:\n  max_failures: %d\n", s.maxFailures), 1)
	}
	if s.health {
		l, err := netnstest.Listen(w.tp.Agent, "tcp", "127.0.0.1:0")
		must(t, err)
		w.health = l.Addr().String()
		l.Close()
		cfg += "health:\n  listen: " + w.health + "\n"
	}
	w.cfgPath = sshdtest.WriteFile(t, w.dir, "oobd.yaml", cfg)
	// Registered last, so it runs first: every agent ends (and tears
	// down) while its modem, servers and namespaces still exist.
	t.Cleanup(w.stopAll)
	if s.beforeStart != nil {
		s.beforeStart(w)
	}
	w.start()
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// start runs `oobd run` in the agent namespace and waits until it says it
// is running.
func (w *world) start() {
	w.t.Helper()
	a := startAgent(w.t, w.tp.Agent, w.cfgPath, filepath.Join(w.dir, fmt.Sprintf("oobd-%d.log", len(w.agents)+1)))
	w.agent = a
	w.agents = append(w.agents, a)
	if !a.log.wait(ctxFor(w.t, 60*time.Second), "oobd running", 1) {
		w.t.Fatalf("oobd did not start:\n%s", a.log.String())
	}
}

// stopAll ends every agent still running (SIGTERM, then SIGKILL), fails
// the test on a race the daemon reported, and shows its log when the test
// failed.
func (w *world) stopAll() {
	for _, a := range w.agents {
		a.Stop(30 * time.Second)
		// oobd is built with -race when the tests are.
		if strings.Contains(a.log.String(), "WARNING: DATA RACE") {
			w.t.Errorf("oobd (%s) reported a data race", a.logPath)
		}
		if w.t.Failed() {
			w.t.Logf("oobd log (%s):\n%s", a.logPath, a.log.String())
		}
	}
	if w.t.Failed() {
		w.t.Logf("jump sshd log:\n%s", w.jump.LogTail(60))
	}
}

// text delivers an SMS from the owner.
func (w *world) text(body string) {
	w.t.Helper()
	if _, err := w.simulator.Deliver(e2eOwner, body); err != nil {
		w.t.Fatalf("deliver %q: %v", redact(body), err)
	}
}

func redact(s string) string { return strings.ReplaceAll(s, e2eSecret, "SECRET") }

// waitPush waits for a push whose title contains title.
func (w *world) waitPush(d time.Duration, title string) push {
	w.t.Helper()
	p, err := w.push.wait(ctxFor(w.t, d), title)
	if err != nil {
		w.t.Fatalf("no push %q: %v (got %v)", title, err, w.push.all())
	}
	return p
}

// waitSMS waits for the n-th SMS oobd sends (1-based) and returns it.
func (w *world) waitSMS(d time.Duration, n int) modemsim.Sent {
	w.t.Helper()
	sent, err := w.simulator.WaitSent(ctxFor(w.t, d), n)
	if err != nil {
		w.t.Fatalf("SMS #%d: %v (sent so far: %v)", n, err, w.simulator.Sent())
	}
	return sent[n-1]
}

// status is the part of `oobd status --json` the tests read.
type status struct {
	Modem struct {
		OK        bool   `json:"ok"`
		LastError string `json:"last_error"`
	} `json:"modem"`
	Session struct {
		Active      bool       `json:"active"`
		RequestedBy string     `json:"requested_by"`
		Started     *time.Time `json:"started"`
		Until       *time.Time `json:"until"`
		Interface   string     `json:"interface"`
		LocalIP     string     `json:"local_ip"`
		Forwards    []struct {
			Remote    string `json:"remote"`
			BoundPort int    `json:"bound_port"`
		} `json:"forwards"`
		Bytes      int64  `json:"bytes"`
		Reconnects int    `json:"reconnects"`
		EndReason  string `json:"end_reason"`
	} `json:"session"`
	LastFailure *struct {
		Step   string `json:"step"`
		Reason string `json:"reason"`
	} `json:"last_failure"`
}

func (w *world) status() (status, error) {
	var st status
	out, err := exec.Command(bins.oobd, "status", "--json", "--config", w.cfgPath).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: a check fails, or no daemon
		return st, fmt.Errorf("oobd status: %w", err)
	}
	return st, json.Unmarshal(out, &st)
}

// waitStatus polls `oobd status --json` until ok says yes: nothing else
// signals these changes.
func (w *world) waitStatus(d time.Duration, what string, ok func(status) bool) status {
	w.t.Helper()
	var last status
	var lastErr error
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		st, err := w.status()
		if err == nil && ok(st) {
			return st
		}
		last, lastErr = st, err
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("status never showed %s within %v: last %+v (err %v)", what, d, last, lastErr)
	return last
}

// ownerSSH is the owner's way in: ssh -J through the jump host and the
// forward to the box's sshd, run inside the jump namespace.
func (w *world) ownerSSH(ctx context.Context, port int, cmd string) (string, error) {
	c := exec.CommandContext(ctx, "ip", "netns", "exec", w.tp.Jump,
		"ssh", "-F", w.sshCfg, "-J", w.jump.User+"@"+netnstest.JumpIP.String(),
		"-p", strconv.Itoa(port), w.box.User+"@localhost", cmd)
	out, err := c.CombinedOutput()
	return string(out), err
}

// assertOwnerGetsIn runs a command on the box through the tunnel, retrying
// while the tunnel is being re-established.
func (w *world) assertOwnerGetsIn(d time.Duration, port int) {
	w.t.Helper()
	ctx := ctxFor(w.t, d)
	var out string
	var err error
	for ctx.Err() == nil {
		out, err = w.ownerSSH(ctx, port, "echo "+strconv.Quote(boxGreeting))
		if err == nil && strings.TrimSpace(out) == boxGreeting {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	w.t.Fatalf("ssh -J to the box through the tunnel: %v: %q", err, out)
}

// setLinkAddr sets the address the next dialer run's link gets
// (setup.linkAddrs).
func (w *world) setLinkAddr(addr string) {
	w.t.Helper()
	if w.addrFile == "" {
		w.t.Fatal("setLinkAddr needs setup.linkAddrs")
	}
	must(w.t, os.WriteFile(w.addrFile, []byte(addr), 0o600))
}

// agentLogins counts the agent's logins at the jump host from addr (the
// owner's come from the jump host itself).
func (w *world) agentLogins(addr string) int {
	return strings.Count(w.jump.LogTail(400), "Accepted publickey for "+w.jump.User+" from "+addr+" ")
}

// ownerSession is an owner's ssh -J session to the box, held open through
// the tunnel: the box answers each line it is sent with "got LINE".
type ownerSession struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan string // what the box printed, line by line
	cancel context.CancelFunc
	done   chan struct{}
}

// ownerSession opens a session and waits for the box's "ready".
func (w *world) ownerSession(d time.Duration, port int) *ownerSession {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := exec.CommandContext(ctx, "ip", "netns", "exec", w.tp.Jump,
		"ssh", "-F", w.sshCfg, "-J", w.jump.User+"@"+netnstest.JumpIP.String(),
		"-p", strconv.Itoa(port), w.box.User+"@localhost",
		`echo ready; while read -r line; do echo "got $line"; done`)
	in, err := c.StdinPipe()
	must(w.t, err)
	out, err := c.StdoutPipe()
	must(w.t, err)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	must(w.t, c.Start())
	s := &ownerSession{t: w.t, cmd: c, in: in, lines: make(chan string, 16), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		c.Wait()
	}()
	w.t.Cleanup(s.close)
	if got := s.next(d); got != "ready" {
		w.t.Fatalf("owner's session through the tunnel: %q (ssh: %s)", got, stderr.String())
	}
	return s
}

// next is the box's next line ("" when the session ended or d passed).
func (s *ownerSession) next(d time.Duration) string {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case l := <-s.lines:
		return l
	case <-timer.C:
		return ""
	}
}

// echo sends a line and returns the box's answer.
func (s *ownerSession) echo(d time.Duration, line string) string {
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		return "write: " + err.Error()
	}
	return s.next(d)
}

func (s *ownerSession) close() {
	s.in.Close()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cancel()
		<-s.done
	}
	s.cancel()
}

// ctl runs an operator command (`oobd up`/`down`) against the running
// daemon's control socket.
func (w *world) ctl(args ...string) (string, error) {
	args = append(args, "--config", w.cfgPath)
	out, err := exec.Command(bins.oobd, args...).CombinedOutput()
	return string(out), err
}

// assertClean checks that nothing of the link is left: no ppp0 in the
// agent namespace, no host route to the jump host, no dialer process.
func (w *world) assertClean() {
	w.t.Helper()
	if out, err := exec.Command("ip", "-n", w.tp.Agent, "link", "show", "ppp0").CombinedOutput(); err == nil {
		w.t.Errorf("ppp0 still exists:\n%s", out)
	}
	if r := w.jumpRoutes(); r != "" {
		w.t.Errorf("host route to the jump host left:\n%s", r)
	}
	if pids := w.dialers(); len(pids) > 0 {
		w.t.Errorf("dialer (fakeppp) still running: %v", pids)
	}
	if w.script != "" {
		if tree := w.processTree(); strings.Contains(tree, filepath.Base(w.script)) {
			w.t.Errorf("the dialer's wrapper script still runs:\n%s", tree)
		}
	}
}

// processTree lists this test's oobd, wrapper script and dialer processes
// (pid, parent, process group, command line), as `ps` would.
func (w *world) processTree() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%7s %7s %7s  %s\n", "PID", "PPID", "PGID", "COMMAND")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !(bytes.Contains(cmd, []byte(w.dir)) || bytes.Contains(cmd, []byte(w.tp.JumpNetnsPath()))) {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil || isZombie(st) {
			continue
		}
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		args := strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")
		args = strings.ReplaceAll(args, w.dir, "$DIR")
		if len(args) > 90 {
			args = args[:90] + "…"
		}
		fmt.Fprintf(&b, "%7s %7s %7s  %s\n", e.Name(), f[1], f[2], args)
	}
	return b.String()
}

// jumpRoutes lists the agent namespace's routes to the jump host's address.
func (w *world) jumpRoutes() string {
	out, err := exec.Command("ip", "-n", w.tp.Agent, "-4", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		w.t.Fatalf("ip route: %v: %s", err, out)
	}
	var hits []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && (f[0] == netnstest.JumpIP.String() || f[0] == netnstest.JumpIP.String()+"/32") {
			hits = append(hits, l)
		}
	}
	return strings.Join(hits, "\n")
}

// dialers are the pids of this test's fakeppp processes (found by its
// jump namespace on their command line).
func (w *world) dialers() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && args[0] == bins.fakeppp && bytes.Contains(b, []byte(w.tp.JumpNetnsPath()+"\x00")) {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(st) {
				continue
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// waitDialer waits for a fakeppp process other than those in not.
func (w *world) waitDialer(d time.Duration, not ...int) int {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, p := range w.dialers() {
			old := false
			for _, n := range not {
				old = old || p == n
			}
			if !old {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("no new dialer within %v (old: %v)", d, not)
	return 0
}

// assertNoSecret checks that the trigger secret never reached the agent's
// log, the state file or the audit log.
func (w *world) assertNoSecret() {
	w.t.Helper()
	files := []string{filepath.Join(w.stateDir, "state.json"), filepath.Join(w.stateDir, "audit.log")}
	for _, a := range w.agents {
		files = append(files, a.logPath)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			w.t.Errorf("secret check: %v", err)
			continue
		}
		if bytes.Contains(b, []byte(e2eSecret)) {
			w.t.Errorf("the secret appears in %s", f)
		}
	}
}

// agentProc is one `oobd run` process.
type agentProc struct {
	*agenttest.Proc
	t       *testing.T
	log     *logWatch
	logPath string
}

func startAgent(t *testing.T, ns, cfg, logPath string) *agentProc {
	t.Helper()
	p := agenttest.StartProc(t, ns, logPath, nil, bins.oobd, "run", "--config", cfg, "--log-level", "debug")
	return &agentProc{Proc: p, t: t, log: &logWatch{p.Log()}, logPath: logPath}
}

func (a *agentProc) signal(sig syscall.Signal) {
	a.t.Helper()
	if err := a.Signal(sig); err != nil {
		a.t.Fatalf("signal oobd: %v", err)
	}
}

// logWatch is a process's log, waited on (agenttest.LogWatch) with the
// names the tests use.
type logWatch struct{ *agenttest.LogWatch }

// count is how many log lines contain substr.
func (l *logWatch) count(substr string) int { return l.Count(substr) }

// wait waits until at least n lines contain substr, or ctx ends.
func (l *logWatch) wait(ctx context.Context, substr string, n int) bool {
	return l.Wait(ctx, substr, n) == nil
}

// push is one message the fake Pushover API received.
type push struct {
	Title, Message string
	Status         int // what the fake answered
}

// fakePushover speaks Pushover's messages.json on the jump host.
type fakePushover struct {
	l      net.Listener
	srv    *http.Server
	status atomic.Int32

	mu     sync.Mutex
	pushes []push
	wake   chan struct{}
}

func startFakePushover(ns string, status int) (*fakePushover, error) {
	l, err := netnstest.Listen(ns, "tcp4", netnstest.JumpIP.String()+":0")
	if err != nil {
		return nil, err
	}
	f := &fakePushover{l: l, wake: make(chan struct{})}
	f.status.Store(int32(status))
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(l)
	return f, nil
}

func (f *fakePushover) URL() string { return "http://" + f.l.Addr().String() + "/1" }

func (f *fakePushover) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/1/messages.json" {
		http.Error(w, `{"status":0,"errors":["not found"]}`, http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := int(f.status.Load())
	if r.PostForm.Get("token") != e2eToken || r.PostForm.Get("user") != e2eUserKey {
		status = http.StatusBadRequest
	}
	f.mu.Lock()
	f.pushes = append(f.pushes, push{Title: r.PostForm.Get("title"), Message: r.PostForm.Get("message"), Status: status})
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
	w.Header().Set("X-Limit-App-Limit", "10000")
	w.Header().Set("X-Limit-App-Remaining", "9999")
	w.Header().Set("X-Limit-App-Reset", "1393653600")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		w.Write([]byte(`{"status":1,"request":"x"}`))
		return
	}
	w.Write([]byte(`{"status":0,"errors":["the fake answers so"],"request":"x"}`))
}

// reset forgets the pushes so far.
func (f *fakePushover) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushes = nil
}

func (f *fakePushover) all() []push {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]push(nil), f.pushes...)
}

// wait waits for a push whose title contains title.
func (f *fakePushover) wait(ctx context.Context, title string) (push, error) {
	for {
		f.mu.Lock()
		for _, p := range f.pushes {
			if strings.Contains(p.Title, title) {
				f.mu.Unlock()
				return p, nil
			}
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return push{}, ctx.Err()
		}
	}
}

// count is how many pushes have a title containing title.
func (f *fakePushover) count(title string) int {
	n := 0
	for _, p := range f.all() {
		if strings.Contains(p.Title, title) {
			n++
		}
	}
	return n
}

func (f *fakePushover) Close() { f.srv.Close() }
