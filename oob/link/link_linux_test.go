//go:build linux

package link_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// The end-to-end proof: the link against a real kernel, in network
// namespaces (internal/netnstest), with a test dialer (testdata/fakeppp)
// whose ppp0 vanishes with it, as kernel PPP's does.

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

// fileJournal is a link.Journal in a JSON file, which a killed test agent
// leaves to the test that cleans up after it.
type fileJournal struct {
	path string
	mu   sync.Mutex // guards the file
}

type journalFile struct {
	Leftovers link.Leftovers       `json:"leftovers"`
	Cleanup   *link.CleanupFailure `json:"cleanup,omitempty"`
}

func (j *fileJournal) load() (journalFile, error) {
	var f journalFile
	b, err := os.ReadFile(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(b, &f)
}

func (j *fileJournal) update(fn func(*journalFile)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := j.load()
	if err != nil {
		return err
	}
	fn(&f)
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp := j.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, j.path)
}

func (j *fileJournal) Leftovers() (link.Leftovers, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := j.load()
	return f.Leftovers, err
}

func (j *fileJournal) Record(lo link.Leftovers) error {
	return j.update(func(f *journalFile) { f.Leftovers = lo })
}

func (j *fileJournal) RecordCleanup(c *link.CleanupFailure) error {
	return j.update(func(f *journalFile) { f.Cleanup = c })
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
	// Registered first, so it runs after the servers' clean-ups and after
	// the Down each test registers for its path.
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

// up brings l up and takes the path down when the test ends, so that a
// test that fails half-way reports its failure, not the goroutines of a
// link it left up.
func (e *env) up(ctx context.Context, l *link.Link) (*link.Path, error) {
	p, err := l.Up(ctx)
	if err == nil {
		e.t.Cleanup(func() { p.Down(context.Background()) })
	}
	return p, err
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

// assertDown checks that nothing is left after Down and that the journal
// says so too.
func assertDown(t *testing.T, j *fileJournal, dialerPID int) {
	t.Helper()
	assertClean(t, dialerPID)
	if lo, err := j.Leftovers(); err != nil || !lo.Empty() {
		t.Errorf("journal after Down: %+v, %v", lo, err)
	}
}

// assertClean checks that no interface, host route or process of the
// given process groups is left, and that the LAN still routes the jump
// host.
func assertClean(t *testing.T, pgids ...int) {
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
	for _, pgid := range pgids {
		if left := groupMembers(t, pgid); len(left) > 0 {
			t.Errorf("processes of group %d still running: %v", pgid, left)
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

// groupMembers lists the running (not zombie) processes of group pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			out = append(out, pid)
		}
	}
	return out
}

func TestUpProvesPathThroughLink(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-dns", netnstest.JumpDNSIP.String(), "-resolv-conf", filepath.Join(e.dir, "resolv.conf"))
		cfg.JumpHost = "jump.test:22" // resolved over the link
		journal := &fileJournal{path: filepath.Join(e.dir, "journal.json")}
		l := e.newLink(cfg, link.WithJournal(journal))
		ctx := ctxFor(t, 60*time.Second)

		p, err := e.up(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if p.Interface() != "ppp0" || p.LocalIP() != linkLocal || p.PeerIP() != linkPeer || p.JumpAddr().Addr() != netnstest.JumpIP {
			t.Errorf("path %s local %v peer %v jump %v", p.Interface(), p.LocalIP(), p.PeerIP(), p.JumpAddr())
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
		lo, err := journal.Leftovers()
		if err != nil || lo.Dialer == nil || lo.Dialer.PID != p.DialerPID() || lo.Dialer.StartTime == "" ||
			!slices.Equal(lo.Routes, []link.Route{{Destination: netnstest.JumpIP.String(), Interface: "ppp0"}}) {
			t.Errorf("journal while up: %+v, %v", lo, err)
		}

		// The session's dials keep to the link, even to an address with no
		// route via it; the jump host by name goes to the pinned address.
		c, err := p.DialContext(ctx, "tcp", "jump.test:22")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		src, err := e.jump.Next(ctx)
		if err != nil || src != linkLocal {
			t.Errorf("session dial came from %v (%v), want %v", src, err, linkLocal)
		}
		c, err = p.DialContext(ctx, "tcp", netnstest.JumpLANSideIP.String()+":22")
		if err == nil {
			c.Close()
			t.Error("dial to an address the link cannot reach went through (not bound to the link?)")
		}
		if rx, tx := p.Bytes(); rx == 0 || tx == 0 {
			t.Errorf("counters %d, %d", rx, tx)
		}

		pid := p.DialerPID()
		if err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Down(ctx); err != nil {
			t.Errorf("second Down: %v", err)
		}
		<-p.Done()
		if !errors.Is(p.Err(), link.ErrDown) {
			t.Errorf("Err after Down = %v", p.Err())
		}
		assertDown(t, journal, pid)
	})
}

// A link that comes up but carries nothing is refused, though the LAN
// reaches the jump host; each failed try is taken down before the next.
func TestUpRejectsLinkWithoutConnectivity(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-no-connect")
		cfg.Attempts = 2
		journal := &fileJournal{path: filepath.Join(e.dir, "journal.json")}
		ctx := ctxFor(t, 60*time.Second)
		_, upErr := e.newLink(cfg, link.WithJournal(journal)).Up(ctx)
		var ue *link.UpError
		if !errors.As(upErr, &ue) || len(ue.Tries) != 2 {
			t.Fatalf("Up = %v, want 2 failed tries", upErr)
		}
		for _, tr := range ue.Tries {
			if tr.Step != link.StepProbe {
				t.Errorf("try %d failed at %q, want %q: %v", tr.Try, tr.Step, link.StepProbe, tr)
			}
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
		if lo, err := journal.Leftovers(); err != nil || !lo.Empty() {
			t.Errorf("journal after the failed tries: %+v, %v", lo, err)
		}
	})
}

func TestPinRouteFalse(t *testing.T) {
	t.Run("no route of the dialer's", func(t *testing.T) {
		netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
			e := newEnv(t, tp)
			cfg := e.config()
			cfg.PinRoute = false
			ctx := ctxFor(t, 60*time.Second)
			_, err := e.up(ctx, e.newLink(cfg))
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
			p, err := e.up(ctx, e.newLink(cfg))
			if err != nil {
				t.Fatal(err)
			}
			if src, err := e.jump.Next(ctx); err != nil || src != linkLocal {
				t.Errorf("jump listener saw the probe from %v (%v), want %v", src, err, linkLocal)
			}
			t.Logf("right path (pin_route false, dialer's route): jump listener saw %v", e.jump.Sources())
			pid := p.DialerPID()
			if err := p.Down(ctx); err != nil {
				t.Fatal(err)
			}
			assertClean(t, pid)
		})
	})
}

func TestUpRetries(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		counter := filepath.Join(e.dir, "count")
		cfg := e.config("-fail-first", "2", "-counter", counter)
		cfg.Attempts = 3
		ctx := ctxFor(t, 60*time.Second)
		p, err := e.up(ctx, e.newLink(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(counter); string(b) != "3" {
			t.Errorf("dialer ran %s times, want 3", b)
		}
		pid := p.DialerPID()
		if err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
		assertClean(t, pid)

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
		assertClean(t)
	})
}

func TestUpTimeout(t *testing.T) {
	netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
		e := newEnv(t, tp)
		cfg := e.config("-delay", "1h")
		cfg.UpTimeout = 500 * time.Millisecond
		_, err := e.up(ctxFor(t, 60*time.Second), e.newLink(cfg))
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
		journal := &fileJournal{path: filepath.Join(e.dir, "journal.json")}
		ctx := ctxFor(t, 60*time.Second)
		p, err := e.up(ctx, e.newLink(cfg, link.WithJournal(journal)))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
			t.Fatalf("session ended before the hang-up: %v", p.Err())
		default:
		}
		// The probe's bytes went through the link before it drops.
		rx0, tx0 := p.Bytes()
		if tx0 == 0 {
			t.Fatalf("counters before the drop: %d, %d", rx0, tx0)
		}
		// The carrier hangs up now (what -die-after does by the clock).
		if err := syscall.Kill(p.DialerPID(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			t.Fatal("no drop reported")
		}
		var de *link.DropError
		if !errors.As(p.Err(), &de) || de.Reason != "dialer exited" || de.DialerStatus != "exit status 16" ||
			!slices.Contains(de.DialerOutput, "Modem hangup") {
			t.Fatalf("Err = %#v", p.Err())
		}
		t.Logf("drop: %v", p.Err())
		// The interface is gone; its last counters are still known.
		if rx, tx := p.Bytes(); tx < tx0 || rx < rx0 {
			t.Errorf("counters after the drop: %d, %d (before: %d, %d)", rx, tx, rx0, tx0)
		}
		pid := p.DialerPID()
		if err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if !errors.As(p.Err(), &de) {
			t.Errorf("Down replaced the drop error: %v", p.Err())
		}
		assertDown(t, journal, pid)
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
		_, err := e.up(ctxFor(t, 30*time.Second), e.newLink(e.config("-counter", counter)))
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
		p, err := e.up(ctx, e.newLink(e.config()))
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
		case <-p.Done():
		case <-ctx.Done():
			t.Fatal("no drop reported")
		}
		var de *link.DropError
		if !errors.As(p.Err(), &de) || de.Reason != "interface gone" || de.DialerStatus != "" {
			t.Fatalf("Err = %v", p.Err())
		}
		pid := p.DialerPID()
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("dialer already gone: %v", err)
		}
		if err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
		assertClean(t, pid)
	})
}

// crashAgentEnv makes TestCleanupAfterCrash's body act as the agent that
// gets killed: it brings the link up with the journal and argv named
// there, says "up" and waits to be killed.
const crashAgentEnv = "OOBD_LINK_CRASH_AGENT"

type crashAgent struct {
	Journal string   `json:"journal"`
	Argv    []string `json:"argv"`
}

// An agent killed by SIGKILL leaves its dialer's process group and the
// host route; the next start's Cleanup stops the whole group, whatever the
// dialer is (a binary, a script that runs one without exec, a script that
// starts another in the background and waits), even when the group's
// leader died meanwhile and its children live on. When Cleanup returns,
// no process of the group, no ppp0 and no host route is left.
func TestCleanupAfterCrash(t *testing.T) {
	for _, tt := range []struct {
		name string
		// script is the wrapper around the test dialer ("" for none).
		script string
		// killLeader kills the wrapper (the group's leader) after the
		// agent, and reaps it, so that only its children remain.
		killLeader bool
	}{
		{name: "binary"},
		{name: "script", script: "#!/bin/sh\n\"$@\"\necho \"dialer exited with $?\"\n"},
		{name: "script with a child dialer", script: "#!/bin/sh\n/bin/sh -c '\"$@\"; echo inner done' inner \"$@\" &\nwait\n"},
		{name: "script killed, dialer lives on", script: "#!/bin/sh\n\"$@\"\nexit $?\n", killLeader: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			netnstest.Run(t, func(t *testing.T, tp *netnstest.Topology) {
				if spec := os.Getenv(crashAgentEnv); spec != "" {
					runCrashAgent(t, tp, spec)
					return
				}
				crashAndClean(t, tp, tt.script, tt.killLeader)
			})
		})
	}
}

func crashAndClean(t *testing.T, tp *netnstest.Topology, script string, killLeader bool) {
	// Orphans (the dialer, once its agent is killed) become our children,
	// so that they can be reaped once cleaned up.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, tp)
	ctx := ctxFor(t, 60*time.Second)
	journal := &fileJournal{path: filepath.Join(e.dir, "journal.json")}
	argv := e.config().UpCommand
	if script != "" {
		path := filepath.Join(e.dir, "dial.sh")
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		argv = append([]string{path}, argv...)
	}
	spec, _ := json.Marshal(crashAgent{Journal: journal.path, Argv: argv})
	agent := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	agent.Env = append(os.Environ(), crashAgentEnv+"="+string(spec))
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

	lo, err := journal.Leftovers()
	if err != nil || lo.Dialer == nil || lo.Dialer.PID == 0 || lo.Dialer.StartTime == "" || len(lo.Routes) != 1 {
		t.Fatalf("journal: %+v, %v", lo, err)
	}
	pgid := lo.Dialer.PID
	members := groupMembers(t, pgid)
	if len(members) == 0 {
		t.Fatal("the killed agent's dialer is not running")
	}
	want := 1
	if script != "" {
		want = 2
	}
	if len(members) < want {
		t.Fatalf("dialer group %d: %v, want at least %d processes", pgid, members, want)
	}
	t.Logf("left by the killed agent: group %d %v", pgid, members)
	if killLeader {
		if err := syscall.Kill(pgid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pgid, &ws, 0, nil); err != nil {
			t.Fatalf("reaping the killed leader: %v", err)
		}
		if left := groupMembers(t, pgid); len(left) == 0 {
			t.Fatal("the group died with its leader: nothing to test")
		}
		if _, err := netlink.LinkByName("ppp0"); err != nil {
			t.Fatalf("ppp0 went with the leader: %v", err)
		}
	}

	if script == "" {
		// An unrelated process that holds a recorded PID with another
		// start time, or the dialer's PID with a wrong start time: neither
		// is touched.
		other := exec.Command("sleep", "600")
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { other.Process.Kill(); other.Wait() }()
		for _, p := range []link.Process{
			{PID: other.Process.Pid, StartTime: "1"},
			{PID: pgid, StartTime: lo.Dialer.StartTime + "1"},
		} {
			stray := &fileJournal{path: filepath.Join(e.dir, "stray.json")}
			if err := stray.Record(link.Leftovers{Interface: "ppp0", Dialer: &p}); err != nil {
				t.Fatal(err)
			}
			cfg := e.config()
			cfg.StopGrace = time.Second
			if err := e.newLink(cfg, link.WithJournal(stray)).Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := syscall.Kill(other.Process.Pid, 0); err != nil {
			t.Errorf("an unrelated process was stopped: %v", err)
		}
		if len(groupMembers(t, pgid)) == 0 {
			t.Error("the dialer was stopped by a clean-up whose record did not match")
		}
	}

	// A stale host route left on another interface goes too.
	stale := netip.MustParseAddr("203.0.113.99")
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: linkIndex(t, "lan0"), Scope: netlink.SCOPE_LINK,
		Dst: &net.IPNet{IP: stale.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatal(err)
	}
	lo.Routes = append(lo.Routes, link.Route{Destination: stale.String(), Interface: "lan0"})
	if err := journal.Record(lo); err != nil {
		t.Fatal(err)
	}

	cfg := e.config()
	l := e.newLink(cfg, link.WithJournal(journal))
	start := time.Now()
	if err := l.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("clean-up took %v", took)
	if limit := cfg.StopGrace + 10*time.Second; took > limit {
		t.Errorf("clean-up took %v, more than the grace period and the wait for the interface (%v)", took, limit)
	}
	assertClean(t, pgid)
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{
		Dst: &net.IPNet{IP: stale.AsSlice(), Mask: net.CIDRMask(32, 32)}}, netlink.RT_FILTER_DST)
	if err != nil || len(rs) != 0 {
		t.Errorf("stale host route to %v: %v, %v", stale, rs, err)
	}
	if lo, err := journal.Leftovers(); err != nil || !lo.Empty() {
		t.Errorf("journal after the clean-up: %+v, %v", lo, err)
	}
	// Reap the group: all of it was reparented to us.
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-pgid, &ws, 0, nil); err != nil {
			break // ECHILD: none left
		}
	}
	// Again is harmless: the group is gone, the routes too.
	if err := e.newLink(cfg, link.WithJournal(journal)).Cleanup(ctx); err != nil {
		t.Errorf("second clean-up: %v", err)
	}
}

func runCrashAgent(t *testing.T, tp *netnstest.Topology, spec string) {
	var a crashAgent
	if err := json.Unmarshal([]byte(spec), &a); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, tp: tp, dir: t.TempDir()}
	cfg := e.config()
	cfg.UpCommand = a.Argv
	l := e.newLink(cfg, link.WithJournal(&fileJournal{path: a.Journal}))
	if _, err := l.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("agent: up")
	select {} // until SIGKILL
}

func linkIndex(t *testing.T, name string) int {
	lk, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return lk.Attrs().Index
}
