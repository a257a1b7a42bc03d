//go:build linux

package link_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/netnstest"
	"github.com/oobd/oobd/oob/link"
	"github.com/vishvananda/netlink"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// fakePPPEnv names the test dialer binary, built once by the parent test
// process and inherited by the copies netnstest.Run starts in namespaces.
const fakePPPEnv = "OOBD_LINK_FAKEPPP"

var (
	linkLocal = netip.MustParseAddr("10.64.0.2")
	linkPeer  = netip.MustParseAddr("10.64.0.1")
)

func TestMain(m *testing.M) {
	if os.Getenv(fakePPPEnv) != "" || os.Geteuid() != 0 {
		// A child in a namespace, or not root: then the namespace tests
		// fail, saying that they need root.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "fakeppp")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "fakeppp")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/fakeppp").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the test dialer: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	os.Setenv(fakePPPEnv, bin)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's view of its namespaces.
type env struct {
	t    *testing.T
	tp   *netnstest.Topology
	dir  string
	jump *netnstest.Recorder
	dns  *netnstest.DNSServer
}

func newEnv(t *testing.T, tp *netnstest.Topology) *env {
	// Registered first, so it runs after the servers' clean-ups.
	running := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, running) })
	e := &env{t: t, tp: tp, dir: t.TempDir()}
	var err error
	e.jump, err = netnstest.Record(tp.Jump, netnstest.JumpIP.String()+":22")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.jump.Close() })
	e.dns, err = netnstest.ServeDNS(tp.Jump, netnstest.JumpDNSIP.String()+":53",
		map[string]netip.Addr{"jump.test.": netnstest.JumpIP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.dns.Close() })
	return e
}

// config is a Link configuration running the test dialer with args.
func (e *env) config(args ...string) link.Config {
	argv := append([]string{os.Getenv(fakePPPEnv), "-jump-netns", e.tp.JumpNetnsPath()}, args...)
	return link.Config{
		UpCommand:    argv,
		Interface:    "ppp0",
		ResolvConf:   filepath.Join(e.dir, "resolv.conf"),
		Attempts:     1,
		UpTimeout:    15 * time.Second,
		ProbeTimeout: 3 * time.Second,
		PinRoute:     true,
		JumpHost:     netnstest.JumpIP.String() + ":22",
		StopGrace:    3 * time.Second,
		Backoff:      50 * time.Millisecond,
	}
}

func (e *env) newLink(cfg link.Config, opts ...link.Option) *link.Link {
	opts = append([]link.Option{link.WithLogger(slog.New(slog.NewTextHandler(testWriter{e.t}, nil)))}, opts...)
	l, err := link.New(cfg, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// assertClean checks that no interface, host route or dialer is left.
// assertDown checks that nothing is left after Down and that the journal
// says so too.
func assertDown(t *testing.T, journal link.FileJournal, dialerPID int) {
	t.Helper()
	assertClean(t, dialerPID)
	if lo, err := journal.Load(); err != nil || !lo.Empty() {
		t.Errorf("journal after Down: %+v, %v", lo, err)
	}
}

func assertClean(t *testing.T, pids ...int) {
	t.Helper()
	if _, err := netlink.LinkByName("ppp0"); err == nil {
		t.Error("ppp0 still exists")
	}
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{
		Dst: &net.IPNet{IP: netnstest.JumpIP.AsSlice(), Mask: net.CIDRMask(32, 32)},
	}, netlink.RT_FILTER_DST)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) > 0 {
		t.Errorf("host routes to the jump host left: %v", rs)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("dialer pid %d still exists (kill 0: %v)", pid, err)
		}
	}
	def, err := netlink.RouteGet(netnstest.JumpIP.AsSlice())
	if err != nil || len(def) == 0 {
		t.Fatalf("route get: %v", err)
	}
	if lk, _ := netlink.LinkByIndex(def[0].LinkIndex); lk == nil || lk.Attrs().Name != "lan0" {
		t.Errorf("jump host no longer routed via the LAN: %v", def)
	}
}

func TestUpProvesPathThroughLink(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-dns", netnstest.JumpDNSIP.String(), "-resolv-conf", filepath.Join(e.dir, "resolv.conf"))
		cfg.JumpHost = "jump.test:22" // resolved over the link
		journal := link.FileJournal{Path: filepath.Join(e.dir, "journal.json")}
		l := e.newLink(cfg, link.WithJournal(journal))
		ctx := ctxFor(t, 60*time.Second)

		s, err := l.Up(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Interface != "ppp0" || s.LocalIP != linkLocal || s.PeerIP != linkPeer || s.JumpIP != netnstest.JumpIP {
			t.Errorf("session %s local %v peer %v jump %v", s.Interface, s.LocalIP, s.PeerIP, s.JumpIP)
		}
		if src, err := e.jump.Next(ctx); err != nil || src != linkLocal {
			t.Errorf("jump listener saw the probe from %v (%v), want the link address %v", src, err, linkLocal)
		}
		t.Logf("right path: jump listener saw %v; DNS server saw %v", e.jump.Sources(), e.dns.Sources())
		for _, src := range e.dns.Sources() {
			if src != linkLocal {
				t.Errorf("DNS query came from %v, not over the link", src)
			}
		}
		if len(e.dns.Sources()) == 0 {
			t.Error("jump.test was not looked up over the link")
		}

		// The pinned route, the kernel's choice, and the untouched default.
		rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{
			Dst: &net.IPNet{IP: netnstest.JumpIP.AsSlice(), Mask: net.CIDRMask(32, 32)},
		}, netlink.RT_FILTER_DST)
		if err != nil || len(rs) != 1 || rs[0].Scope != netlink.SCOPE_LINK {
			t.Errorf("host route: %v, %v", rs, err)
		}
		defs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: nil}, netlink.RT_FILTER_DST)
		if err != nil || len(defs) != 1 || !defs[0].Gw.Equal(netnstest.LANGatewayIP.AsSlice()) {
			t.Errorf("default route changed: %v, %v", defs, err)
		}
		lo, err := journal.Load()
		if err != nil || lo.Dialer == nil || lo.Dialer.PID != s.DialerPID || lo.Dialer.StartTime == "" ||
			!slices.Equal(lo.Routes, []link.HostRoute{{Dst: netnstest.JumpIP.String(), Interface: "ppp0"}}) {
			t.Errorf("journal while up: %+v, %v", lo, err)
		}

		// The session's dialer keeps to the link, even for an address with
		// no route via it; the resolver too.
		c, err := s.Dialer.DialContext(ctx, "tcp", "jump.test:22")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		src, err := e.jump.Next(ctx)
		if err != nil || src != linkLocal {
			t.Errorf("session dial came from %v (%v), want %v", src, err, linkLocal)
		}
		c, err = s.Dialer.DialContext(ctx, "tcp", netnstest.JumpLANSideIP.String()+":22")
		if err == nil {
			c.Close()
			t.Error("dial to an address the link cannot reach went through (not bound to the link?)")
		}
		n, err := s.Bytes()
		if err != nil || n.RxBytes == 0 || n.TxBytes == 0 {
			t.Errorf("counters %+v, %v", n, err)
		}

		if err := s.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Down(ctx); err != nil {
			t.Errorf("second Down: %v", err)
		}
		<-s.Done()
		if !errors.Is(s.Err(), link.ErrDown) {
			t.Errorf("Err after Down = %v", s.Err())
		}
		assertDown(t, journal, s.DialerPID)
	})
}

// A link that comes up but carries nothing is refused, though the LAN
// reaches the jump host; each failed try is taken down before the next.
func TestUpRejectsLinkWithoutConnectivity(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-no-connect")
		cfg.Attempts = 2
		var (
			mu      sync.Mutex
			befores int
			afters  int
		)
		hooks := link.Hooks{
			BeforeDial: func(context.Context) error {
				mu.Lock()
				befores++
				mu.Unlock()
				return nil
			},
			AfterDown: func(context.Context) {
				mu.Lock()
				afters++
				mu.Unlock()
				assertClean(t)
			},
		}
		l := e.newLink(cfg, link.WithHooks(hooks))
		ctx := ctxFor(t, 60*time.Second)
		_, upErr := l.Up(ctx)
		var ue *link.UpError
		if !errors.As(upErr, &ue) || len(ue.Tries) != 2 {
			t.Fatalf("Up = %v, want 2 failed tries", upErr)
		}
		for _, tr := range ue.Tries {
			if tr.Step != link.StepProbe {
				t.Errorf("try %d failed at %q, want %q: %v", tr.Try, tr.Step, link.StepProbe, tr)
			}
		}
		if befores != 2 || afters != 2 {
			t.Errorf("hooks: %d BeforeDial, %d AfterDown, want 2 and 2", befores, afters)
		}
		if got := e.jump.Sources(); len(got) != 0 {
			t.Errorf("jump listener saw %v through a link without connectivity", got)
		}
		// The LAN path works all along: a connection that is not bound to
		// the link reaches the jump host from the LAN address.
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp4", netnstest.JumpIP.String()+":22")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if src, err := e.jump.Next(ctx); err != nil || src != netnstest.AgentLANIP {
			t.Errorf("LAN connection seen from %v (%v)", src, err)
		}
		t.Logf("wrong path (no connectivity): jump listener saw %v, all from an unbound LAN connection the test made; Up: %v", e.jump.Sources(), upErr)
		assertClean(t)
	})
}

func TestPinRouteFalse(t *testing.T) {
	t.Run("no route of the dialer's", func(t *testing.T) {
		netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
			e := newEnv(t, tp)
			cfg := e.config()
			cfg.PinRoute = false
			ctx := ctxFor(t, 60*time.Second)
			_, err := e.newLink(cfg).Up(ctx)
			var ue *link.UpError
			if !errors.As(err, &ue) || len(ue.Tries) != 1 || ue.Tries[0].Step != link.StepCheck ||
				!strings.Contains(err.Error(), "via lan0, not ppp0") {
				t.Fatalf("Up = %v, want a failed route check", err)
			}
			if got := e.jump.Sources(); len(got) != 0 {
				t.Errorf("jump listener saw %v; the proof must not connect after a failed check", got)
			}
			t.Logf("wrong path (pin_route false): %v; jump listener saw %v", err, e.jump.Sources())
			assertClean(t)
		})
	})
	t.Run("dialer routes the jump host", func(t *testing.T) {
		netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
			e := newEnv(t, tp)
			cfg := e.config("-route", netnstest.JumpIP.String())
			cfg.PinRoute = false
			ctx := ctxFor(t, 60*time.Second)
			s, err := e.newLink(cfg).Up(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if src, err := e.jump.Next(ctx); err != nil || src != linkLocal {
				t.Errorf("jump listener saw the probe from %v (%v), want %v", src, err, linkLocal)
			}
			t.Logf("right path (pin_route false, dialer's route): jump listener saw %v", e.jump.Sources())
			if err := s.Down(ctx); err != nil {
				t.Fatal(err)
			}
			assertClean(t, s.DialerPID)
		})
	})
}

func TestUpRetries(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		counter := filepath.Join(e.dir, "count")
		cfg := e.config("-fail-first", "2", "-counter", counter)
		cfg.Attempts = 3
		afters := 0
		l := e.newLink(cfg, link.WithHooks(link.Hooks{AfterDown: func(context.Context) {
			afters++
			assertClean(t)
		}}))
		ctx := ctxFor(t, 60*time.Second)
		s, err := l.Up(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(counter); string(b) != "3" || afters != 2 {
			t.Errorf("dialer ran %s times, %d tries taken down; want 3 and 2", b, afters)
		}
		if err := s.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if afters != 3 {
			t.Errorf("AfterDown ran %d times, want 3", afters)
		}
		assertClean(t, s.DialerPID)

		// All tries failing: the error names each, with the dialer's words.
		os.Remove(counter)
		cfg = e.config("-fail-first", "5", "-counter", counter)
		cfg.Attempts = 2
		_, err = e.newLink(cfg).Up(ctx)
		var ue *link.UpError
		if !errors.As(err, &ue) || len(ue.Tries) != 2 || ue.Tries[1].Step != link.StepUp ||
			ue.Tries[1].DialerStatus != "exit status 8" || !strings.Contains(err.Error(), "Connect script failed") {
			t.Errorf("Up = %v", err)
		}
	})
}

func TestUpTimeout(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-delay", "1h")
		cfg.UpTimeout = 500 * time.Millisecond
		_, err := e.newLink(cfg).Up(ctxFor(t, 60*time.Second))
		var ue *link.UpError
		if !errors.As(err, &ue) || ue.Tries[0].Step != link.StepUp || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Up = %v, want an up timeout", err)
		}
		// Stopped by SIGTERM: pppd-like exit status 5 and its words.
		if st := ue.Tries[0].DialerStatus; st != "" && st != "exit status 5" {
			t.Errorf("dialer status %q", st)
		}
		assertClean(t)
	})
}

func TestLinkDrop(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-die-after", "1h")
		journal := link.FileJournal{Path: filepath.Join(e.dir, "journal.json")}
		ctx := ctxFor(t, 60*time.Second)
		s, err := e.newLink(cfg, link.WithJournal(journal)).Up(ctx)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Done():
			t.Fatalf("session ended before the hang-up: %v", s.Err())
		default:
		}
		// Traffic through the link before it drops (the probe's own bytes
		// are there already; this adds a known amount).
		before, err := s.Bytes()
		if err != nil || before.TxBytes == 0 {
			t.Fatalf("counters before the drop: %+v, %v", before, err)
		}
		// The carrier hangs up now (what -die-after does by the clock).
		if err := syscall.Kill(s.DialerPID, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("no drop reported")
		}
		var de *link.DropError
		if !errors.As(s.Err(), &de) || de.DialerStatus != "exit status 16" || !slices.Contains(de.DialerOutput, "Modem hangup") {
			t.Fatalf("Err = %#v", s.Err())
		}
		t.Logf("drop: %v", s.Err())
		// The interface is gone; its last counters are still known.
		after, err := s.Bytes()
		if err != nil || after.TxBytes < before.TxBytes || after.RxBytes < before.RxBytes {
			t.Errorf("counters after the drop: %+v, %v (before: %+v)", after, err, before)
		}
		if err := s.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if !errors.As(s.Err(), &de) {
			t.Errorf("Down replaced the drop error: %v", s.Err())
		}
		assertDown(t, journal, s.DialerPID)
	})
}

// An interface with the link's name before dialing is not this try's: the
// dialer is not started.
func TestUpRefusesExistingInterface(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ppp0"}, PeerName: "stale0"}); err != nil {
			t.Fatal(err)
		}
		counter := filepath.Join(e.dir, "count")
		_, err := e.newLink(e.config("-counter", counter)).Up(ctxFor(t, 30*time.Second))
		var ue *link.UpError
		if !errors.As(err, &ue) || ue.Tries[0].Step != link.StepDial || !strings.Contains(err.Error(), "exists before dialing") {
			t.Errorf("Up = %v", err)
		}
		if _, err := os.Stat(counter); err == nil {
			t.Error("the dialer was started")
		}
	})
}

// An interface that vanishes while the dialer runs is a drop too; Down then
// stops the dialer.
func TestLinkDropInterfaceGone(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		ctx := ctxFor(t, 60*time.Second)
		s, err := e.newLink(e.config()).Up(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lk, err := netlink.LinkByName("ppp0")
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkDel(lk); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("no drop reported")
		}
		var de *link.DropError
		if !errors.As(s.Err(), &de) || de.Reason != "interface gone" || de.DialerStatus != "" {
			t.Fatalf("Err = %v", s.Err())
		}
		if err := syscall.Kill(s.DialerPID, 0); err != nil {
			t.Fatalf("dialer already gone: %v", err)
		}
		if err := s.Down(ctx); err != nil {
			t.Fatal(err)
		}
		assertClean(t, s.DialerPID)
	})
}

// crashAgentEnv makes TestCleanupAfterCrash's body act as the agent that
// gets killed: it brings the link up with the journal named here, says
// "up" and waits to be killed.
const crashAgentEnv = "OOBD_LINK_CRASH_AGENT"

// An agent killed by SIGKILL leaves the dialer and the host route; the next
// start's Cleanup removes them from the journal, and never stops an
// unrelated process that holds a recorded PID.
func TestCleanupAfterCrash(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		if path := os.Getenv(crashAgentEnv); path != "" {
			runCrashAgent(t, tp, path)
			return
		}
		// Orphans (the dialer, once its agent is killed) become our
		// children, so that they can be reaped once cleaned up.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, tp)
		ctx := ctxFor(t, 60*time.Second)
		journal := link.FileJournal{Path: filepath.Join(e.dir, "journal.json")}
		agent := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
		agent.Env = append(os.Environ(), crashAgentEnv+"="+journal.Path)
		out, err := agent.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		agent.Stderr = agent.Stdout
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "agent: up" {
			lines = append(lines, sc.Text())
		}
		if _, err := netlink.LinkByName("ppp0"); err != nil {
			t.Fatalf("agent did not bring the link up: %v\n%s", err, strings.Join(lines, "\n"))
		}
		if _, err := e.jump.Next(ctx); err != nil { // its probe
			t.Fatal(err)
		}
		agent.Process.Signal(syscall.SIGKILL)
		go io.Copy(io.Discard, out)
		agent.Wait()

		lo, err := journal.Load()
		if err != nil || lo.Dialer == nil || lo.Dialer.PID == 0 || len(lo.Routes) != 1 {
			t.Fatalf("journal: %+v, %v", lo, err)
		}
		pid := lo.Dialer.PID
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("the killed agent's dialer is not running: %v", err)
		}

		// An unrelated process with a recorded PID: wrong start time, wrong
		// command line. Neither may be touched.
		other := exec.Command("sleep", "600")
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { other.Process.Kill(); other.Wait() }()
		otherStart := procStart(t, other.Process.Pid)
		for _, p := range []link.Process{
			{PID: other.Process.Pid, StartTime: otherStart + "1", Cmdline: other.Args},
			{PID: other.Process.Pid, StartTime: otherStart, Cmdline: lo.Dialer.Cmdline},
			{PID: pid, StartTime: otherStart, Cmdline: lo.Dialer.Cmdline},
			{PID: pid, StartTime: lo.Dialer.StartTime, Cmdline: other.Args},
		} {
			if err := link.Cleanup(ctx, link.Leftovers{Interface: "ppp0", Dialer: &p}, time.Second, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []int{other.Process.Pid, pid} {
			if err := syscall.Kill(p, 0); err != nil {
				t.Errorf("pid %d was stopped by a clean-up whose record did not match: %v", p, err)
			}
		}
		if _, err := netlink.LinkByName("ppp0"); err != nil {
			t.Errorf("ppp0 gone after mismatched clean-ups: %v", err)
		}

		// A stale host route left on another interface goes too.
		stale := netip.MustParseAddr("203.0.113.99")
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: linkIndex(t, "lan0"), Scope: netlink.SCOPE_LINK,
			Dst: &net.IPNet{IP: stale.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
			t.Fatal(err)
		}
		lo.Routes = append(lo.Routes, link.HostRoute{Dst: stale.String(), Interface: "lan0"})

		if err := link.Cleanup(ctx, lo, 3*time.Second, nil); err != nil {
			t.Fatal(err)
		}
		orphan, _ := os.FindProcess(pid)
		st, err := orphan.Wait() // reparented to us; reap it
		if err != nil || st.ExitCode() != 5 {
			t.Errorf("dialer did not end by SIGTERM: %v, %v", st, err)
		}
		assertClean(t, pid)
		rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{
			Dst: &net.IPNet{IP: stale.AsSlice(), Mask: net.CIDRMask(32, 32)}}, netlink.RT_FILTER_DST)
		if err != nil || len(rs) != 0 {
			t.Errorf("stale host route to %v: %v, %v", stale, rs, err)
		}
		// Again is harmless: the PID is gone, the routes too.
		if err := link.Cleanup(ctx, lo, time.Second, nil); err != nil {
			t.Errorf("second clean-up: %v", err)
		}
	})
}

func runCrashAgent(t *testing.T, tp *netnstest.Topology, journalPath string) {
	e := &env{t: t, tp: tp, dir: t.TempDir()}
	l := e.newLink(e.config(), link.WithJournal(link.FileJournal{Path: journalPath}))
	if _, err := l.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("agent: up")
	select {} // until SIGKILL
}

func procStart(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[19]
}

func linkIndex(t *testing.T, name string) int {
	lk, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return lk.Attrs().Index
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  link.Config
	}{
		{"no command", link.Config{Interface: "ppp0", JumpHost: "j:22"}},
		{"no port", link.Config{UpCommand: []string{"pppd"}, Interface: "ppp0", JumpHost: "j"}},
		{"bad port", link.Config{UpCommand: []string{"pppd"}, Interface: "ppp0", JumpHost: "j:99999"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := link.New(tt.cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}
