// Package netnstest builds a small network of Linux network namespaces for
// tests that need real routing, and runs test code inside one of them.
//
// The topology (fixed addresses; every Topology has its own namespaces):
//
//	agent ──lan0 192.168.77.2/24── lan (router) ──172.31.0.0/30── jump
//	                                                              lo 203.0.113.10, 203.0.113.53
//
// The agent's default route goes via the LAN, so the jump host is reachable
// without any other link. A test dialer adds the cellular path: a carrier
// namespace between the agent and the jump namespace (see JumpNetnsPath).
//
// Namespaces are per OS thread in Linux, and Go runs goroutines on many
// threads, so code that opens sockets or netlink subscriptions from
// goroutines cannot simply switch one thread. Run therefore re-executes the
// test binary inside the agent namespace (`ip netns exec`), for one test.
// Do and the listeners here switch a single locked thread, for code that
// creates a socket in one call.
package netnstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The topology's addresses.
var (
	AgentLANIP   = netip.MustParseAddr("192.168.77.2")
	LANGatewayIP = netip.MustParseAddr("192.168.77.1")
	// JumpIP is the jump host, with a listener on it in tests.
	JumpIP = netip.MustParseAddr("203.0.113.10")
	// JumpDNSIP is a second address of the jump namespace, for a DNS server
	// that has no host route of its own.
	JumpDNSIP = netip.MustParseAddr("203.0.113.53")
	// JumpLANSideIP is the jump namespace's address toward the LAN router.
	JumpLANSideIP = netip.MustParseAddr("172.31.0.2")
)

// Topology names the namespaces of one test network.
type Topology struct {
	Agent string `json:"agent"`
	LAN   string `json:"lan"`
	Jump  string `json:"jump"`
}

// JumpNetnsPath is the jump namespace's bind mount, for a test dialer to
// attach its carrier side to.
func (tp *Topology) JumpNetnsPath() string { return "/run/netns/" + tp.Jump }

// RequireRoot fails the test (never skips it) when not run as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("netnstest: this test builds network namespaces and must run as root (e.g. sudo go test -race ./...); it is not skipped so that CI cannot pass without it")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("netnstest: iproute2's ip is needed: ", err)
	}
}

// New builds a topology in fresh namespaces and deletes them, with every
// process still in them, when the test ends.
func New(t testing.TB) *Topology {
	t.Helper()
	RequireRoot(t)
	var b [4]byte
	rand.Read(b[:])
	id := "oobt" + hex.EncodeToString(b[:])
	tp := &Topology{Agent: id + "-agent", LAN: id + "-lan", Jump: id + "-jump"}
	t.Cleanup(func() { tp.destroy(t) })
	a, l, j := tp.Agent, tp.LAN, tp.Jump
	steps := [][]string{
		{"netns", "add", a}, {"netns", "add", l}, {"netns", "add", j},
		{"-n", a, "link", "set", "lo", "up"},
		{"-n", l, "link", "set", "lo", "up"},
		{"-n", j, "link", "set", "lo", "up"},
		{"-n", a, "link", "add", "lan0", "type", "veth", "peer", "name", "agent0", "netns", l},
		{"-n", a, "addr", "add", AgentLANIP.String() + "/24", "dev", "lan0"},
		{"-n", a, "link", "set", "lan0", "up"},
		{"-n", l, "addr", "add", LANGatewayIP.String() + "/24", "dev", "agent0"},
		{"-n", l, "link", "set", "agent0", "up"},
		{"-n", l, "link", "add", "jump0", "type", "veth", "peer", "name", "lan0", "netns", j},
		{"-n", l, "addr", "add", "172.31.0.1/30", "dev", "jump0"},
		{"-n", l, "link", "set", "jump0", "up"},
		{"-n", j, "addr", "add", JumpLANSideIP.String() + "/30", "dev", "lan0"},
		{"-n", j, "link", "set", "lan0", "up"},
		{"-n", j, "addr", "add", JumpIP.String() + "/32", "dev", "lo"},
		{"-n", j, "addr", "add", JumpDNSIP.String() + "/32", "dev", "lo"},
		{"-n", a, "route", "add", "default", "via", LANGatewayIP.String()},
		{"-n", l, "route", "add", "203.0.113.0/24", "via", JumpLANSideIP.String()},
		{"-n", j, "route", "add", "default", "via", "172.31.0.1"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("netnstest: ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	// Explicit, whatever the host's defaults that new namespaces inherit.
	sysctls := []struct{ ns, key, val string }{
		{l, "net/ipv4/ip_forward", "1"},
		{a, "net/ipv4/ip_forward", "0"},
		{j, "net/ipv4/ip_forward", "0"},
		{a, "net/ipv4/conf/all/rp_filter", "0"},
		{a, "net/ipv4/conf/default/rp_filter", "0"},
		{l, "net/ipv4/conf/all/rp_filter", "0"},
		{l, "net/ipv4/conf/default/rp_filter", "0"},
		{j, "net/ipv4/conf/all/rp_filter", "0"},
		{j, "net/ipv4/conf/default/rp_filter", "0"},
	}
	for _, s := range sysctls {
		if err := Sysctl(s.ns, s.key, s.val); err != nil {
			t.Fatal(err)
		}
	}
	return tp
}

func (tp *Topology) destroy(t testing.TB) {
	for _, ns := range []string{tp.Agent, tp.LAN, tp.Jump} {
		// Only processes inside this test's own namespaces.
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("netnstest: ip netns del %s: %v: %s", ns, err, out)
		}
	}
}

// Do runs fn on an OS thread switched into the named namespace, and
// switches back. fn must not start goroutines that expect to be in ns.
func Do(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netnstest: current netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netnstest: netns %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netnstest: enter %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- fmt.Errorf("netnstest: leave %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Sysctl writes /proc/sys/<key> (e.g. "net/ipv4/ip_forward") inside ns.
func Sysctl(ns, key, val string) error {
	return Do(ns, func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(val), 0o644); err != nil {
			return fmt.Errorf("netnstest: sysctl %s in %s: %w", key, ns, err)
		}
		return nil
	})
}

const runEnv = "OOBD_NETNSTEST_RUN"

type runSpec struct {
	Test     string   `json:"test"`
	Topology Topology `json:"topology"`
}

// Run runs body inside the agent namespace of a fresh topology. In the test
// process it builds the topology and re-executes the test binary for this
// test alone under `ip netns exec`, then passes or fails with it; in that
// child it calls body. Everything body starts (goroutines, child
// processes) is in the agent namespace.
func Run(t *testing.T, body func(t *testing.T, tp *Topology)) {
	t.Helper()
	if v := os.Getenv(runEnv); v != "" {
		var spec runSpec
		if err := json.Unmarshal([]byte(v), &spec); err != nil {
			t.Fatalf("netnstest: %s: %v", runEnv, err)
		}
		if spec.Test != t.Name() {
			t.Skipf("netnstest: child for %s", spec.Test)
		}
		body(t, &spec.Topology)
		return
	}
	tp := New(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	spec, _ := json.Marshal(runSpec{Test: t.Name(), Topology: *tp})
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-5*time.Second))
		defer cancel()
	}
	args := []string{"netns", "exec", tp.Agent, exe, "-test.run=" + strings.Join(parts, "/"), "-test.count=1", "-test.v=true"}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Env = append(os.Environ(), runEnv+"="+string(spec))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("netnstest: in namespace %s:\n%s", tp.Agent, out.String())
	switch {
	case err != nil:
		t.Fatalf("netnstest: test in namespace %s failed: %v", tp.Agent, err)
	case strings.Contains(out.String(), "--- SKIP: "+t.Name()+" "):
		t.Skip("netnstest: skipped in the namespace")
	case !strings.Contains(out.String(), "--- PASS: "+t.Name()+" "):
		t.Fatalf("netnstest: test %s did not run in namespace %s", t.Name(), tp.Agent)
	}
}
