package link

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeOS is osLink as the tests want it: every answer set by the test,
// every call written down. Processes are a table the test fills; the
// link's own dialer is a real child process all the same (dialer.go).
type fakeOS struct {
	mu sync.Mutex // guards everything below

	calls []string // in order: "watch ppp0", "addRoute 1.2.3.4 ppp0", "delRoute …", "waitGone ppp0", "close ppp0", "signal …"

	held       bool          // an interface holds the name
	heldErr    error         // present fails
	readyNow   chan struct{} // ready returns info once closed (newFakeOS: closed)
	info       linkInfo
	goneCh     chan struct{} // closed by the test: the interface went
	final      *byteCounts   // the deletion notice's counters
	waitErr    error         // waitGone fails with it
	onWaitGone func()        // called by waitGone

	addErr  error
	exists  bool     // addRoute finds the route there already
	delErr  error    // delRoute fails with it
	via     []string // routeVia's answers in turn; the last one repeats
	viaErr  error
	changes chan struct{}

	counts    byteCounts
	countsErr error
	control   int // calls of the bound dialer's Control

	procs    []fakeProc
	procsErr error
}

// fakeProc is one process of the fake table: it dies of SIGTERM unless
// stubborn, of SIGKILL unless unkillable.
type fakeProc struct {
	procInfo
	stubborn, unkillable bool
}

func newFakeOS(info linkInfo) *fakeOS {
	f := &fakeOS{info: info, readyNow: make(chan struct{}), goneCh: make(chan struct{}), changes: make(chan struct{}, 1)}
	close(f.readyNow)
	return f
}

func (f *fakeOS) called(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeOS) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// set changes the fake under its lock.
func (f *fakeOS) set(fn func(f *fakeOS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeOS) watch(name string) (ifaceWatch, error) {
	f.called("watch %s", name)
	return &fakeWatch{f: f, name: name}, nil
}

type fakeWatch struct {
	f    *fakeOS
	name string
}

func (w *fakeWatch) present() (bool, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.f.held, w.f.heldErr
}

func (w *fakeWatch) ready(ctx context.Context, exited <-chan struct{}) (linkInfo, error) {
	select {
	case <-w.f.readyNow:
		w.f.set(func(f *fakeOS) { f.held = true })
		return w.f.info, nil
	case <-exited:
		return linkInfo{}, fmt.Errorf("dialer exited before %s was up with an IPv4 address", w.name)
	case <-ctx.Done():
		return linkInfo{}, fmt.Errorf("%s not up with an IPv4 address: %w", w.name, ctx.Err())
	}
}

func (w *fakeWatch) gone() <-chan struct{} { return w.f.goneCh }

func (w *fakeWatch) lastCounts() (byteCounts, bool) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	if w.f.final == nil {
		return byteCounts{}, false
	}
	return *w.f.final, true
}

func (w *fakeWatch) waitGone(ctx context.Context) error {
	w.f.called("waitGone %s", w.name)
	w.f.mu.Lock()
	on, err := w.f.onWaitGone, w.f.waitErr
	if err == nil {
		w.f.held = false
	}
	w.f.mu.Unlock()
	if on != nil {
		on()
	}
	return err
}

func (w *fakeWatch) close() { w.f.called("close %s", w.name) }

func (f *fakeOS) addRoute(dst netip.Addr, li linkInfo) (bool, error) {
	f.called("addRoute %s %s", dst, li.name)
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.exists && f.addErr == nil, f.addErr
}

func (f *fakeOS) delRoute(dst netip.Addr, ifname string) error {
	f.called("delRoute %s %s", dst, ifname)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delErr
}

func (f *fakeOS) routeVia(netip.Addr) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.viaErr != nil {
		return "", f.viaErr
	}
	if len(f.via) == 0 {
		return f.info.name, nil
	}
	v := f.via[0]
	if len(f.via) > 1 {
		f.via = f.via[1:]
	}
	return v, nil
}

func (f *fakeOS) routeChanges() (<-chan struct{}, func(), error) {
	f.called("routeChanges")
	return f.changes, func() { f.called("routeChanges stopped") }, nil
}

// dialer is unbound (the tests' jump host is on loopback) but counts its
// use, so that a test can tell the link used it.
func (f *fakeOS) dialer(linkInfo) *net.Dialer {
	return &net.Dialer{Control: func(string, string, syscall.RawConn) error {
		f.mu.Lock()
		f.control++
		f.mu.Unlock()
		return nil
	}}
}

func (f *fakeOS) rebind(net.Conn, linkInfo) error {
	f.called("rebind")
	return nil
}

func (f *fakeOS) controls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.control
}

func (f *fakeOS) counters(linkInfo) (byteCounts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts, f.countsErr
}

func (f *fakeOS) processes() ([]procInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.procsErr != nil {
		return nil, f.procsErr
	}
	out := make([]procInfo, len(f.procs))
	for i, p := range f.procs {
		out[i] = p.procInfo
	}
	return out, nil
}

// signalGroup acts as the kernel would on the table: the group's members
// and lead get sig, and die of it unless they resist; a lead that is not
// the recorded process any more gets nothing.
func (f *fakeOS) signalGroup(pgid int, lead *procInfo, sig syscall.Signal) (bool, error) {
	leadPID := 0
	if lead != nil {
		leadPID = lead.pid
	}
	f.called("signal %d lead %d %s", pgid, leadPID, sig)
	f.mu.Lock()
	defer f.mu.Unlock()
	if lead != nil && !slices.ContainsFunc(f.procs, func(p fakeProc) bool {
		return p.pid == lead.pid && p.start == lead.start && !p.zombie
	}) {
		return false, nil
	}
	var alive []fakeProc
	for _, p := range f.procs {
		hit := !p.zombie && (p.pgid == pgid || p.pid == leadPID)
		dies := (sig == syscall.SIGTERM && !p.stubborn) || (sig == syscall.SIGKILL && !p.unkillable)
		if hit && dies {
			continue
		}
		alive = append(alive, p)
	}
	f.procs = alive
	return true, nil
}

func (f *fakeOS) pids() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, p := range f.procs {
		out = append(out, p.pid)
	}
	return out
}

// memJournal is a Journal in memory that keeps every record.
type memJournal struct {
	mu        sync.Mutex // guards everything below
	lo        Leftovers
	history   []Leftovers
	failures  []*CleanupFailure // every RecordCleanup, nil ones included
	recordErr error             // Record fails with it
}

func (j *memJournal) Leftovers() (Leftovers, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lo.clone(), nil
}

func (j *memJournal) Record(lo Leftovers) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.recordErr != nil {
		return j.recordErr
	}
	j.lo = lo.clone()
	j.history = append(j.history, lo.clone())
	return nil
}

func (j *memJournal) RecordCleanup(f *CleanupFailure) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.failures = append(j.failures, f)
	return nil
}

func (j *memJournal) last() Leftovers {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lo.clone()
}

func (j *memJournal) records() []Leftovers {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.history)
}

func (j *memJournal) cleanups() []*CleanupFailure {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.failures)
}

// testLink is a Link over fake with short waits, logging to t.
func testLink(t *testing.T, cfg Config, fake *fakeOS, j *memJournal) *Link {
	t.Helper()
	l, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))), WithJournal(j))
	if err != nil {
		t.Fatal(err)
	}
	l.os = fake
	l.dropSettle = 200 * time.Millisecond
	l.goneWait = 300 * time.Millisecond
	return l
}

type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}
