package link

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The tests' link: a real dialer process (a shell), a fake OS, and a jump
// host listening on loopback, which is the fake interface's address.
func loopback() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }

// jumpHost listens on loopback, accepting until the test ends.
func jumpHost(t *testing.T) (addr string, accepted <-chan netip.Addr) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan netip.Addr, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case ch <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap():
			default:
			}
			c.Close()
		}
	}()
	return ln.Addr().String(), ch
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dialerScript is an up command: a shell that says what pppd would, then
// stays (or runs tail).
func dialerScript(tail string) []string {
	return []string{"/bin/sh", "-c", "echo Serial connection established.; echo Using interface ppp0; " + tail}
}

func testConfig(jump string) Config {
	return Config{
		UpCommand:    dialerScript("exec sleep 600"),
		Interface:    "ppp0",
		Attempts:     1,
		UpTimeout:    5 * time.Second,
		ProbeTimeout: 5 * time.Second,
		RouteSettle:  time.Second,
		PinRoute:     true,
		JumpHost:     jump,
		StopGrace:    2 * time.Second,
		Backoff:      10 * time.Millisecond,
		DNS:          []netip.Addr{loopback()},
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestUpAndDown(t *testing.T) {
	jump, accepted := jumpHost(t)
	fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback(), peer: netip.MustParseAddr("10.64.0.1")})
	fake.counts = byteCounts{RxBytes: 100, TxBytes: 200}
	j := &memJournal{}
	l := testLink(t, testConfig(jump), fake, j)
	ctx := ctxFor(t, 30*time.Second)

	p, err := l.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if src := <-accepted; src != loopback() {
		t.Errorf("probe came from %v", src)
	}
	jumpAP := netip.MustParseAddrPort(jump)
	if p.Interface() != "ppp0" || p.LocalIP() != loopback() || p.PeerIP().String() != "10.64.0.1" || p.JumpAddr() != jumpAP {
		t.Errorf("path %s local %v peer %v jump %v", p.Interface(), p.LocalIP(), p.PeerIP(), p.JumpAddr())
	}
	if !running(p.DialerPID()) {
		t.Fatalf("dialer %d not running", p.DialerPID())
	}
	lo := j.last()
	want := Leftovers{Interface: "ppp0", Dialer: &Process{PID: p.DialerPID(), Cmdline: l.cfg.UpCommand},
		Routes: []Route{{Destination: jumpAP.Addr().String(), Interface: "ppp0"}}}
	if lo.Dialer != nil {
		want.Dialer.StartTime = lo.Dialer.StartTime // the fake lists no processes
	}
	if !equalLeftovers(lo, want) {
		t.Errorf("journal while up: %+v, want %+v", lo, want)
	}
	// The intent was recorded before the dialer started, the route before
	// it was added.
	rec := j.records()
	if len(rec) < 3 || rec[0].Dialer == nil || rec[0].Dialer.PID != 0 || len(rec[len(rec)-1].Routes) != 1 {
		t.Errorf("journal history %+v", rec)
	}
	if rx, tx := p.Bytes(); rx != 100 || tx != 200 {
		t.Errorf("Bytes = %d, %d", rx, tx)
	}

	// Dialing the jump host by its configured name goes to the address
	// pinned, through the link's dialer.
	before := fake.controls()
	c, err := p.DialContext(ctx, "tcp", jump)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-accepted
	if fake.controls() != before+1 {
		t.Error("DialContext did not use the link's dialer")
	}

	pid := p.DialerPID()
	if err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Down(ctx); err != nil {
		t.Errorf("second Down: %v", err)
	}
	<-p.Done()
	if !errors.Is(p.Err(), ErrDown) {
		t.Errorf("Err after Down = %v", p.Err())
	}
	if running(pid) {
		t.Error("dialer still running after Down")
	}
	if lo := j.last(); !lo.Empty() {
		t.Errorf("journal after Down: %+v", lo)
	}
	wantCalls := []string{"delRoute " + jumpAP.Addr().String() + " ppp0", "waitGone ppp0", "close ppp0"}
	if calls := fake.callLog(); !isSubsequence(calls, wantCalls) {
		t.Errorf("calls %q, want %q in that order", calls, wantCalls)
	}
	if rx, tx := p.Bytes(); rx != 100 || tx != 200 {
		t.Errorf("Bytes after Down = %d, %d", rx, tx)
	}
}

func equalLeftovers(a, b Leftovers) bool {
	return a.Interface == b.Interface && slices.Equal(a.Routes, b.Routes) &&
		(a.Dialer == nil) == (b.Dialer == nil) &&
		(a.Dialer == nil || (a.Dialer.PID == b.Dialer.PID && a.Dialer.StartTime == b.Dialer.StartTime && slices.Equal(a.Dialer.Cmdline, b.Dialer.Cmdline)))
}

// isSubsequence reports whether want appear in got in order.
func isSubsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// Each rung of the ladder fails a try at its own step, and the try is
// taken down: no dialer, routes removed, journal empty.
func TestUpFailsAtEachStep(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(c *Config, f *fakeOS, j *memJournal)
		step    string
		says    string
		dialed  bool   // the dialer was started
		routed  bool   // a host route was added and must be removed
		status  string // the dialer's exit status in the error
		timeout bool   // errors.Is(err, context.DeadlineExceeded)
	}{
		{name: "interface exists", step: StepDial, says: "ppp0 exists before dialing",
			setup: func(_ *Config, f *fakeOS, _ *memJournal) { f.held = true }},
		{name: "interface unreadable", step: StepDial, says: "look for ppp0",
			setup: func(_ *Config, f *fakeOS, _ *memJournal) { f.heldErr = errors.New("netlink: permission denied") }},
		{name: "journal refuses", step: StepDial, says: "record leftovers",
			setup: func(_ *Config, _ *fakeOS, j *memJournal) { j.recordErr = errors.New("disk full") }},
		{name: "no such command", step: StepDial, says: "start /nonexistent/pppd",
			setup: func(c *Config, _ *fakeOS, _ *memJournal) { c.UpCommand = []string{"/nonexistent/pppd", "call", "oob"} }},
		{name: "dialer exits", step: StepUp, says: "dialer exited before ppp0", dialed: true, status: "exit status 8",
			setup: func(c *Config, f *fakeOS, _ *memJournal) {
				c.UpCommand = dialerScript("echo Connect script failed; exit 8")
				f.readyNow = make(chan struct{})
			}},
		{name: "never up", step: StepUp, says: "not up with an IPv4 address", dialed: true, timeout: true,
			setup: func(c *Config, f *fakeOS, _ *memJournal) {
				c.UpTimeout = 100 * time.Millisecond
				f.readyNow = make(chan struct{})
			}},
		{name: "no DNS for a name", step: StepResolve, says: "look up jump.test", dialed: true,
			setup: func(c *Config, _ *fakeOS, _ *memJournal) {
				c.DNS = nil
				c.ResolvConf = "/nonexistent/resolv.conf"
				c.JumpHost = "jump.test:22"
			}},
		{name: "route refused", step: StepRoute, says: "host route to 127.0.0.1 via ppp0", dialed: true,
			setup: func(_ *Config, f *fakeOS, _ *memJournal) { f.addErr = errors.New("file exists") }},
		{name: "routed elsewhere", step: StepCheck, says: "kernel routes 127.0.0.1 via lan0, not ppp0", dialed: true, routed: true,
			setup: func(_ *Config, f *fakeOS, _ *memJournal) { f.via = []string{"lan0"} }},
		{name: "route unknown", step: StepCheck, says: "route to 127.0.0.1: no route", dialed: true, routed: true,
			setup: func(_ *Config, f *fakeOS, _ *memJournal) { f.viaErr = errors.New("no route") }},
		{name: "dialer's route never comes", step: StepCheck, says: "via lan0, not ppp0", dialed: true,
			setup: func(c *Config, f *fakeOS, _ *memJournal) {
				c.PinRoute = false
				c.RouteSettle = 100 * time.Millisecond
				f.via = []string{"lan0"}
			}},
		{name: "jump host refuses", step: StepProbe, says: "connect 127.0.0.1:", dialed: true, routed: true,
			setup: func(c *Config, _ *fakeOS, _ *memJournal) {}},
		{name: "probe leaves from elsewhere", step: StepProbe, says: "went out from 127.0.0.1, not ppp0's 127.0.0.2", dialed: true, routed: true,
			setup: func(c *Config, f *fakeOS, _ *memJournal) { f.info.local = netip.MustParseAddr("127.0.0.2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jump, accepted := jumpHost(t)
			if tt.step == StepProbe && !strings.Contains(tt.says, "went out") {
				jump = closedPort(t)
			}
			cfg := testConfig(jump)
			fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
			j := &memJournal{}
			tt.setup(&cfg, fake, j)
			l := testLink(t, cfg, fake, j)
			_, err := l.Up(ctxFor(t, 30*time.Second))
			var ue *UpError
			if !errors.As(err, &ue) || len(ue.Tries) != 1 {
				t.Fatalf("Up = %v, want one failed try", err)
			}
			tr := ue.Tries[0]
			if tr.Step != tt.step || !strings.Contains(tr.Error(), tt.says) {
				t.Errorf("try failed at %q: %v; want %q saying %q", tr.Step, tr, tt.step, tt.says)
			}
			if tt.status != "" && (tr.DialerStatus != tt.status || !slices.Contains(tr.DialerOutput, "Connect script failed")) {
				t.Errorf("dialer status %q, output %q", tr.DialerStatus, tr.DialerOutput)
			}
			if tt.timeout != errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("deadline exceeded: %v, want %v", errors.Is(err, context.DeadlineExceeded), tt.timeout)
			}

			started := slices.ContainsFunc(j.records(), func(lo Leftovers) bool { return lo.Dialer != nil && lo.Dialer.PID > 0 })
			if started != tt.dialed {
				t.Errorf("dialer started: %v, want %v (journal %+v)", started, tt.dialed, j.records())
			}
			calls := fake.callLog()
			removed := slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "delRoute") })
			if removed != tt.routed {
				t.Errorf("route removed: %v, want %v (calls %q)", removed, tt.routed, calls)
			}
			if waited := slices.Contains(calls, "waitGone ppp0"); waited != tt.dialed {
				t.Errorf("waited for ppp0 to go: %v, want %v", waited, tt.dialed)
			}
			if !slices.Contains(calls, "close ppp0") {
				t.Error("the watch was not closed")
			}
			for _, lo := range j.records() {
				if lo.Dialer != nil && lo.Dialer.PID > 0 && running(lo.Dialer.PID) {
					t.Errorf("dialer %d still running", lo.Dialer.PID)
				}
			}
			if tt.name != "journal refuses" && !j.last().Empty() {
				t.Errorf("journal after the try: %+v", j.last())
			}
			select {
			case src := <-accepted:
				if tt.step != StepProbe {
					t.Errorf("the jump host saw a connection from %v though the try failed at %s", src, tt.step)
				}
			default:
			}
		})
	}
}

// Without a pinned route the check waits for the dialer's own route, and
// asks the kernel again on each change.
func TestUpWaitsForTheDialersRoute(t *testing.T) {
	jump, _ := jumpHost(t)
	cfg := testConfig(jump)
	cfg.PinRoute = false
	cfg.RouteSettle = 10 * time.Second
	fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
	fake.via = []string{"lan0", "ppp0"}
	fake.changes <- struct{}{} // the ip-up script adds it
	l := testLink(t, cfg, fake, &memJournal{})
	ctx := ctxFor(t, 30*time.Second)
	start := time.Now()
	p, err := l.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Down(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Up took %v: it waited out RouteSettle instead of following the change", d)
	}
	calls := fake.callLog()
	if slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "addRoute") }) {
		t.Errorf("a route was pinned: %q", calls)
	}
	if !isSubsequence(calls, []string{"routeChanges", "routeChanges stopped"}) {
		t.Errorf("route changes not followed and stopped: %q", calls)
	}
}

// The dialer's own route to the jump host is not the link's to remove.
func TestUpLeavesAnExistingRoute(t *testing.T) {
	jump, _ := jumpHost(t)
	fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
	fake.exists = true
	j := &memJournal{}
	l := testLink(t, testConfig(jump), fake, j)
	ctx := ctxFor(t, 30*time.Second)
	p, err := l.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lo := j.last(); len(lo.Routes) != 0 {
		t.Errorf("journal records a route the link did not add: %+v", lo)
	}
	if err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(fake.callLog(), func(c string) bool { return strings.HasPrefix(c, "delRoute") }) {
		t.Error("Down removed the dialer's route")
	}
}

// The jump host's name is looked up over the link: at the link's DNS
// servers, through the link's dialer.
func TestUpResolvesOverTheLink(t *testing.T) {
	jump, accepted := jumpHost(t)
	jumpAP := netip.MustParseAddrPort(jump)
	dns := serveDNS(t, map[string]netip.Addr{"jump.test.": jumpAP.Addr()})
	cfg := testConfig("jump.test:" + strconv.Itoa(int(jumpAP.Port())))
	fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
	l := testLink(t, cfg, fake, &memJournal{})
	l.dnsPort = dns.Port()
	ctx := ctxFor(t, 30*time.Second)
	p, err := l.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Down(ctx)
	<-accepted
	if p.JumpAddr() != jumpAP {
		t.Errorf("jump host resolved to %v, want %v", p.JumpAddr(), jumpAP)
	}
	// One control for the DNS query, one for the probe, at least.
	if n := fake.controls(); n < 2 {
		t.Errorf("the link's dialer was used %d times; the look-up did not go through it", n)
	}
	// A name the configured jump host is not is looked up, not pinned.
	if _, err := p.DialContext(ctx, "tcp", "other.test:"+strconv.Itoa(int(jumpAP.Port()))); err == nil {
		t.Error("dialed other.test, which the link's DNS does not know")
	}
}

// serveDNS answers A queries for names on loopback, NXDOMAIN for others.
func serveDNS(t *testing.T, names map[string]netip.Addr) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			h.Response, h.Authoritative = true, true
			b := dnsmessage.NewBuilder(nil, h)
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			if a, ok := names[q.Name.String()]; ok && q.Type == dnsmessage.TypeA {
				b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
					dnsmessage.AResource{A: a.As4()})
			} else if !ok {
				h.RCode = dnsmessage.RCodeNameError
				b = dnsmessage.NewBuilder(nil, h)
				b.StartQuestions()
				b.Question(q)
			}
			msg, err := b.Finish()
			if err == nil {
				pc.WriteTo(msg, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// A teardown that cannot undo everything goes on with the rest, says all
// that failed, keeps what is left in the journal, and the link cleans it
// up before its next dial.
func TestTeardownJoinsErrorsAndKeepsWhatIsLeft(t *testing.T) {
	jump := closedPort(t) // the probe fails: the try is taken down
	fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
	fake.delErr = errors.New("route: permission denied")
	fake.waitErr = errors.New("ppp0 still exists")
	var dialerGoneFirst bool
	j := &memJournal{}
	l := testLink(t, testConfig(jump), fake, j)
	fake.onWaitGone = func() {
		lo := j.last()
		dialerGoneFirst = lo.Dialer != nil && lo.Dialer.PID > 0 && !running(lo.Dialer.PID)
	}
	_, err := l.Up(ctxFor(t, 30*time.Second))
	var ue *UpError
	if !errors.As(err, &ue) || ue.Tries[0].Step != StepProbe {
		t.Fatalf("Up = %v", err)
	}
	for _, s := range []string{"route: permission denied", "ppp0 still exists", "connect 127.0.0.1"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if !dialerGoneFirst {
		t.Error("the interface was waited for before the dialer was stopped")
	}
	lo := j.last()
	if lo.Dialer != nil || len(lo.Routes) != 1 || lo.Routes[0].Destination != "127.0.0.1" {
		t.Errorf("journal after the failed teardown: %+v, want the route only", lo)
	}
	fails := j.cleanups()
	if len(fails) == 0 || fails[len(fails)-1] == nil {
		t.Fatalf("no failed clean-up recorded: %v", fails)
	}
	f := fails[len(fails)-1]
	if want := []string{"interface ppp0", "route 127.0.0.1 via ppp0"}; !slices.Equal(f.Left, want) {
		t.Errorf("left %q, want %q", f.Left, want)
	}

	// The next Up first cleans up; while the route will not go, it does
	// not dial.
	_, err = l.Up(ctxFor(t, 30*time.Second))
	if !errors.As(err, &ue) || ue.Tries[0].Step != StepDial || !strings.Contains(err.Error(), "still there") {
		t.Fatalf("Up with a failing clean-up = %v", err)
	}
	n := len(j.records())
	fake.set(func(f *fakeOS) { f.delErr, f.waitErr, f.held = nil, nil, false })
	jump2, _ := jumpHost(t)
	l.cfg.JumpHost = jump2
	ctx := ctxFor(t, 30*time.Second)
	p, err := l.Up(ctx)
	if err != nil {
		t.Fatalf("Up after the clean-up could succeed: %v", err)
	}
	defer p.Down(ctx)
	if fails := j.cleanups(); fails[len(fails)-1] != nil {
		t.Errorf("the failure was not cleared: %v", fails[len(fails)-1])
	}
	if rec := j.records()[n]; !rec.Empty() {
		t.Errorf("after the clean-up the journal was %+v, want empty", rec)
	}
}

// A carrier hang-up: the dialer exits and its interface goes, in either
// order; the drop says the dialer exited, with its words, and the bytes
// are still known.
func TestPathDrop(t *testing.T) {
	for _, tt := range []struct {
		name         string
		exit, vanish bool
		reason       string
	}{
		// The interface is reported gone first: the drop waits for the
		// exit, as long as it takes.
		{"dialer exits, interface goes", true, true, "dialer exited"},
		// One half only: the drop waits the short settle out.
		{"interface goes, dialer stays", false, true, "interface gone"},
		{"dialer exits, interface stays", true, false, "dialer exited"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			jump, _ := jumpHost(t)
			cfg := testConfig(jump)
			// The dialer says when it listens for the hang-up, through a
			// FIFO; only then does the fake interface come up.
			fifo := filepath.Join(t.TempDir(), "ready")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg.UpCommand = dialerScript(`trap 'echo Modem hangup; exit 16' USR1; echo up > "$0"; while :; do sleep 0.05; done`)
			cfg.UpCommand = append(cfg.UpCommand, fifo)
			fake := newFakeOS(linkInfo{name: "ppp0", index: 7, local: loopback()})
			fake.counts = byteCounts{RxBytes: 10, TxBytes: 20}
			fake.readyNow = make(chan struct{})
			go func() {
				os.ReadFile(fifo) // until the dialer has written and closed it
				close(fake.readyNow)
			}()
			l := testLink(t, cfg, fake, &memJournal{})
			if tt.exit && tt.vanish {
				l.dropSettle = time.Minute
			}
			ctx := ctxFor(t, 30*time.Second)
			p, err := l.Up(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Down(context.Background()) })
			p.Bytes()
			fake.set(func(f *fakeOS) {
				f.countsErr = errors.New("no such device")
				if tt.vanish {
					f.final = &byteCounts{RxBytes: 0, TxBytes: 25} // a veth's notice: no rx
				}
			})
			if tt.vanish {
				close(fake.goneCh)
			}
			if tt.exit {
				if err := syscall.Kill(p.DialerPID(), syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-p.Done():
			case <-ctx.Done():
				t.Fatal("no drop reported")
			}
			var de *DropError
			if !errors.As(p.Err(), &de) || de.Reason != tt.reason {
				t.Fatalf("Err = %v, want a drop: %s", p.Err(), tt.reason)
			}
			if tt.exit && (de.DialerStatus != "exit status 16" || !slices.Contains(de.DialerOutput, "Modem hangup")) {
				t.Errorf("drop %#v: want the dialer's status and words", de)
			}
			if !tt.exit && de.DialerStatus != "" {
				t.Errorf("drop says the dialer ended: %q", de.DialerStatus)
			}
			wantTx := uint64(20)
			if tt.vanish {
				wantTx = 25
			}
			if rx, tx := p.Bytes(); rx != 10 || tx != wantTx {
				t.Errorf("Bytes after the drop = %d, %d; want 10, %d", rx, tx, wantTx)
			}
			if err := p.Down(ctx); err != nil {
				t.Fatal(err)
			}
			if !errors.As(p.Err(), &de) {
				t.Errorf("Down replaced the drop: %v", p.Err())
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"no command", Config{Interface: "ppp0", JumpHost: "j:22"}},
		{"no port", Config{UpCommand: []string{"pppd"}, Interface: "ppp0", JumpHost: "j"}},
		{"bad port", Config{UpCommand: []string{"pppd"}, Interface: "ppp0", JumpHost: "j:99999"}},
		{"no host", Config{UpCommand: []string{"pppd"}, Interface: "ppp0", JumpHost: ":22"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestSummaries(t *testing.T) {
	ue := &UpError{Tries: []*TryError{{Try: 1, Step: StepProbe}, {Try: 2, Step: StepUp, DialerStatus: "exit status 8"}}}
	if got, want := ue.Summary(), "PPP x2: no IP (dialer exit status 8)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got := (&UpError{}).Summary(); got != "PPP: no try made" {
		t.Errorf("empty Summary = %q", got)
	}
	de := &DropError{Reason: "dialer exited", DialerStatus: "exit status 16"}
	if got, want := de.Summary(), "link dropped: dialer exited (exit status 16)"; got != want {
		t.Errorf("drop Summary = %q, want %q", got, want)
	}
}

func TestStartTime(t *testing.T) {
	fake := newFakeOS(linkInfo{})
	fake.procs = []fakeProc{{procInfo: procInfo{pid: 42, pgid: 42, start: "77"}}}
	l := testLink(t, testConfig("127.0.0.1:22"), fake, &memJournal{})
	if got := l.startTime(42); got != "77" {
		t.Errorf("startTime(42) = %q", got)
	}
	if got := l.startTime(43); got != "" {
		t.Errorf("startTime of a process not listed = %q", got)
	}
	fake.procsErr = errors.New("ps: not found")
	if got := l.startTime(42); got != "" {
		t.Errorf("startTime without a process list = %q", got)
	}
}
