//go:build linux && soak

package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/netnstest"
	"github.com/oobd/oobd/modem/modemsim"
)

// The soak (make soak; as root: go test -tags soak -run '^TestSoak$' -v
// -timeout 30m ./oob/agent/) is months of an installed, forgotten oobd in
// minutes: the real binary in the end-to-end world (e2e_harness_linux_test.go)
// runs more than 50 sessions in a row, with the faults of a long life in
// between and during them: the jump host's sshd restarting, the dialer
// dying, the modem going silent, oobd SIGKILLed and restarted, the SIM's
// storage full, a wrong secret from the owner's number. Every session must
// give its notices and leave nothing up; the daemon's descriptors,
// goroutines and memory must not grow from the first session to the last.
//
// The growth is measured from /metrics (health.listen in the agent
// namespace): after the first session that a process ran to its end (the
// warm figure) and after the last. A SIGKILL makes a new process, so the
// limits hold for the last process, which runs most of the sessions (all
// SIGKILLs come early in the plan); the earlier processes' figures are
// shown in the summary too.

const (
	// soakDuration is session.duration: a plain session ends on its own.
	soakDuration = 12 * time.Second
	// soakLong is what a session with a fault in it asks for; it ends
	// with `oobd down` (a single-port modem reads no texts meanwhile).
	soakLong        = "up 5m"
	soakCapacity    = 15 // the SIM's SMS slots
	soakWrongSecret = "Wr0ng-Secret-42"
	// soakSessions is the plan's length; SOAK_SESSIONS changes it (at
	// least 16: the SIGKILLs and the last process's warm session).
	soakSessions = 58
	// soakMaxFailures is trigger.max_failures: the soak's wrong secrets
	// (two in each wrong-secret session) stay under it, so no lockout.
	soakMaxFailures = 50

	// What may grow between the warm figure and the end.
	soakMaxFDGrowth        = 5
	soakMaxGoroutineGrowth = 10
	soakMaxRSSGrowth       = 0.20
)

// soakKind is what one session of the plan does.
type soakKind string

const (
	kPlain       soakKind = "plain"        // text, log in, the session expires
	kDown        soakKind = "down"         // text "up 5m", log in, oobd down
	kSSHDMid     soakKind = "sshd-mid"     // the jump host's sshd restarts during the session
	kSSHDBetween soakKind = "sshd-between" // ... before it, while idle
	kRedial      soakKind = "redial"       // the dialer dies mid-session; the redial brings the link back
	kRedialFails soakKind = "redial-fails" // the dialer dies and every redial fails: the session ends with a notice
	kUpFails     soakKind = "up-fails"     // every dial fails: the session never comes up, a failure notice
	kSilent      soakKind = "modem-silent" // the modem hangs (the recovery ladder runs); the text sent meanwhile is acted on
	kFullSIM     soakKind = "full-sim"     // the SIM's storage is full of junk when the owner's text comes
	kWrongSecret soakKind = "wrong-secret" // two wrong secrets from the owner's number, then the right one
	kKill        soakKind = "sigkill"      // oobd SIGKILLed mid-session and restarted: the restart cleans up
)

// soakPlan is the order of the sessions: the SIGKILLs early, so that the
// last process runs most of the plan; then every other kind in turn.
func soakPlan() []soakKind {
	total := soakSessions
	if n, err := strconv.Atoi(os.Getenv("SOAK_SESSIONS")); err == nil && n > 16 {
		total = n
	}
	plan := []soakKind{
		kPlain, kSSHDMid, kRedial, kKill,
		kPlain, kSilent, kFullSIM, kWrongSecret, kKill,
		kPlain, kUpFails, kRedialFails, kSSHDBetween, kKill,
		kPlain, // the last process's warm figure
	}
	cycle := []soakKind{kSSHDMid, kRedial, kSilent, kFullSIM, kWrongSecret, kSSHDBetween, kDown, kRedialFails, kUpFails, kPlain}
	for i := 0; len(plan) < total; i++ {
		plan = append(plan, cycle[i%len(cycle)])
	}
	return plan
}

func TestSoak(t *testing.T) {
	start := time.Now()
	w := newWorld(t, setup{
		duration: soakDuration,
		schedule: "@every 5s", // a hung modem is noticed by a poll
		attempts: 2,
		// fakeppp fails its runs 1 and 2: from 1000 every run works, and
		// writing 0 to the counter makes the next two (link.attempts) fail.
		counterStart: 1000,
		fakeppp:      []string{"-fail-first", "2"},
		// Texts that find the SIM full wait in the network, as they do.
		simOpts: []modemsim.Option{modemsim.WithCapacity(soakCapacity), modemsim.WithNetworkQueue()},
		health:  true,
		// The wrong secrets of the whole soak stay under it: no lockout.
		maxFailures: soakMaxFailures,
	})
	if dir := os.Getenv("SOAK_LOGDIR"); dir != "" {
		// Registered after the world's clean-ups, so it runs before them:
		// the last oobd's log ends before its shutdown.
		t.Cleanup(func() { keepLogs(t, w, dir) })
	}
	s := &soak{t: t, w: w, faults: map[string]int{}, notices: map[string]int{}, pushTitles: map[string]int{}, kinds: map[soakKind]int{}}
	s.newProc()
	plan := soakPlan()
	for i, k := range plan {
		s.session(i+1, len(plan), k)
	}
	s.finish(time.Since(start))
}

// soak is the run's bookkeeping.
type soak struct {
	t *testing.T
	w *world

	smsSeen    int // SMS accounted for (an index into Sent())
	pushSeen   int // pushes accounted for
	faults     map[string]int
	notices    map[string]int
	pushTitles map[string]int
	kinds      map[soakKind]int
	up, failed int // sessions that came up; that could not, by design
	cleanRuns  int // leftover checks passed
	killedDown int // SIGKILLed sessions whose "link down" notice came after the restart
	longest    time.Duration
	longestN   int

	procs []*soakProc
}

// soakProc is one oobd process and its figures.
type soakProc struct {
	n         int
	pid       int
	sessions  []int // the sessions it ran to their end
	warm, end *soakSample
	warmAfter int // the session after which warm was taken
	series    []soakSample
	killedIn  int // the session it was SIGKILLed in (0: it ran to the end)
}

func (s *soak) proc() *soakProc { return s.procs[len(s.procs)-1] }

func (s *soak) newProc() {
	s.procs = append(s.procs, &soakProc{n: len(s.procs) + 1, pid: s.w.agent.Pid()})
}

// session runs session n of kind k: the fault, the session, its notices,
// and the check that nothing is left up.
func (s *soak) session(n, of int, k soakKind) {
	t, w := s.t, s.w
	t.Helper()
	began := time.Now()
	s.kinds[k]++
	smsMark := len(w.simulator.Sent())
	if smsMark != s.smsSeen {
		t.Fatalf("session %d: %d SMS sent that no session expected: %v", n, smsMark-s.smsSeen, w.simulator.Sent()[s.smsSeen:])
	}
	wantSMS := 1 // the "link down" SMS, or the failure notice
	detail := ""

	switch k {
	case kPlain:
		s.textUp(e2eSecret)
		s.waitUp(n)
		s.waitDown(n, "time is up")
	case kDown:
		s.textUp(e2eSecret + " " + soakLong)
		s.waitUp(n)
		s.ctlDown(n)
	case kSSHDMid:
		s.textUp(e2eSecret + " " + soakLong)
		s.waitUp(n)
		w.jump.Restart()
		s.faults["jump sshd restarted mid-session"]++
		w.waitStatus(60*time.Second, "a reconnect", func(st status) bool { return st.Session.Active && st.Session.Reconnects >= 1 })
		w.assertOwnerGetsIn(60*time.Second, remotePort)
		s.ctlDown(n)
	case kSSHDBetween:
		w.jump.Restart()
		s.faults["jump sshd restarted between sessions"]++
		s.textUp(e2eSecret)
		s.waitUp(n)
		s.waitDown(n, "time is up")
	case kRedial:
		s.textUp(e2eSecret + " " + soakLong)
		s.waitUp(n)
		first := w.waitDialer(10 * time.Second)
		must(t, syscall.Kill(first, syscall.SIGUSR1)) // fakeppp: "Modem hangup"
		s.faults["dialer died mid-session, redialed"]++
		w.waitDialer(60*time.Second, first)
		w.assertOwnerGetsIn(60*time.Second, remotePort)
		if st, err := w.status(); err != nil || !st.Session.Active {
			t.Fatalf("session %d: not active after the redial: %+v (%v)", n, st.Session, err)
		}
		s.ctlDown(n)
	case kRedialFails:
		s.textUp(e2eSecret + " " + soakLong)
		s.waitUp(n)
		dialer := w.waitDialer(10 * time.Second)
		must(t, os.WriteFile(w.counter, []byte("0"), 0o600)) // the next link.attempts runs fail
		must(t, syscall.Kill(dialer, syscall.SIGUSR1))
		s.faults["dialer died mid-session, redial failed"]++
		s.waitDown(n, "link dropped", "redial failed")
	case kUpFails:
		must(t, os.WriteFile(w.counter, []byte("0"), 0o600))
		s.faults["every dial failed (session never up)"]++
		s.textUp(e2eSecret)
		s.waitFailed(n)
	case kSilent:
		detail = s.silent(n)
		s.waitUp(n)
		s.waitDown(n, "time is up")
	case kFullSIM:
		detail = s.fullSIM(n)
		s.waitUp(n)
		s.waitDown(n, "time is up")
		s.waitSIMEmpty(n)
	case kWrongSecret:
		log := w.agent.log
		base := log.count("verdict=bad-secret")
		w.text(soakWrongSecret + " up")
		w.text(soakWrongSecret + " up 2h")
		if !log.wait(ctxFor(t, 60*time.Second), "verdict=bad-secret", base+2) {
			t.Fatalf("session %d: the wrong secrets were not decided as bad-secret", n)
		}
		s.faults["wrong secret from the owner's number"] += 2
		s.textUp(e2eSecret)
		s.waitUp(n)
		s.waitDown(n, "time is up")
	case kKill:
		detail = s.kill(n)
	default:
		t.Fatalf("unknown kind %q", k)
	}

	// Nothing left up, nothing unexpected said.
	w.assertClean()
	if t.Failed() {
		t.FailNow()
	}
	s.cleanRuns++
	if st := w.waitStatus(30*time.Second, "the session over", func(st status) bool { return !st.Session.Active }); st.Session.Active {
		t.Fatalf("session %d: still active", n)
	}
	if got := len(w.simulator.Sent()); got != smsMark+wantSMS {
		t.Fatalf("session %d (%s): %d SMS sent, want %d: %v", n, k, got-smsMark, wantSMS, w.simulator.Sent()[smsMark:])
	}
	s.smsSeen = smsMark + wantSMS
	s.tallyPushes(n, k)

	took := time.Since(began)
	if took > s.longest {
		s.longest, s.longestN = took, n
	}
	p := s.proc()
	line := ""
	if k != kKill {
		p.sessions = append(p.sessions, n)
		smp := s.sample(p.warm == nil)
		p.series = append(p.series, smp)
		if p.warm == nil {
			p.warm, p.warmAfter = &smp, n
		}
		p.end = &smp
		line = fmt.Sprintf("oobd #%d: %d fds, %d goroutines, RSS %s, %d threads, %d children (%d zombies)",
			p.n, smp.fds, smp.goroutines, mib(smp.rss), smp.threads, smp.children, smp.zombies)
	}
	if detail != "" {
		detail = " (" + detail + ")"
	}
	t.Logf("session %2d/%d %-12s %5.1fs%s %s", n, of, k, took.Seconds(), detail, line)
}

// textUp texts body from the owner once the clock is in a new second.
// A text's stamp has whole seconds; one stamped in the second a session
// ended counts as sent before the end and is superseded (the spec's rule
// for texts the single-port modem could not read during the session).
// Nothing signals that a second has passed: this waits for the clock.
func (s *soak) textUp(body string) {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	s.w.text(body)
}

// waitUp waits for the session's "link up" push and logs in as the owner
// through the tunnel.
func (s *soak) waitUp(n int) {
	s.t.Helper()
	p := s.waitPush(n, upWithin, "link up")
	if !strings.Contains(p.Message, strconv.Itoa(remotePort)) {
		s.t.Fatalf("session %d: the link up push does not name the port %d:\n%s", n, remotePort, p.Message)
	}
	s.notices["link up push"]++
	s.up++
	s.w.assertOwnerGetsIn(30*time.Second, remotePort)
}

// ctlDown ends the session with `oobd down` and waits for its notices.
func (s *soak) ctlDown(n int) {
	s.t.Helper()
	if out, err := s.w.ctl("down"); err != nil {
		s.t.Fatalf("session %d: oobd down: %v: %s", n, err, out)
	}
	s.waitDown(n)
}

// waitDown waits for the "link down" SMS to the owner (saying want) and
// the "link down" push.
func (s *soak) waitDown(n int, want ...string) {
	s.t.Helper()
	sms := s.w.waitSMS(downWithin+soakDuration, s.smsSeen+1)
	if sms.To != e2eOwner || !strings.Contains(sms.Text, "DOWN") {
		s.t.Fatalf("session %d: link down SMS to %s: %q", n, sms.To, sms.Text)
	}
	for _, w := range want {
		if !strings.Contains(sms.Text, w) {
			s.t.Fatalf("session %d: link down SMS lacks %q: %q", n, w, sms.Text)
		}
	}
	s.notices["link down SMS"]++
	s.waitPush(n, downWithin, "link down")
	s.notices["link down push"]++
}

// waitFailed waits for the notices of an up that failed.
func (s *soak) waitFailed(n int) {
	s.t.Helper()
	sms := s.w.waitSMS(3*time.Minute, s.smsSeen+1)
	if sms.To != e2eOwner || !strings.Contains(sms.Text, "failed") || !strings.Contains(sms.Text, "link") {
		s.t.Fatalf("session %d: failure SMS to %s: %q", n, sms.To, sms.Text)
	}
	s.notices["up failed SMS"]++
	s.waitPush(n, 30*time.Second, "up failed")
	s.notices["up failed push"]++
	s.failed++
}

// waitPush waits for a push titled title that came after the last
// session's.
func (s *soak) waitPush(n int, d time.Duration, title string) push {
	s.t.Helper()
	f := s.w.push
	ctx := ctxFor(s.t, d)
	for {
		f.mu.Lock()
		for _, p := range f.pushes[s.pushSeen:] {
			if strings.Contains(p.Title, title) {
				f.mu.Unlock()
				return p
			}
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			s.t.Fatalf("session %d: no %q push within %v (since the last session: %v)", n, title, d, f.all()[s.pushSeen:])
		}
	}
}

// tallyPushes counts the session's pushes by title: exactly one "link up"
// for a session that came up, one "link down" for one that ended, one
// "up failed" for one that could not come up.
func (s *soak) tallyPushes(n int, k soakKind) {
	all := s.w.push.all()
	got := map[string]int{}
	for _, p := range all[s.pushSeen:] {
		title := strings.TrimPrefix(p.Title, "oobd: ")
		got[title]++
		s.pushTitles[title]++
		if p.Status != http.StatusOK {
			s.t.Errorf("session %d: push %q refused (%d)", n, p.Title, p.Status)
		}
	}
	want := map[string]int{"link up": 1, "link down": 1}
	switch k {
	case kUpFails:
		want = map[string]int{"up failed": 1}
	}
	for _, title := range []string{"link up", "link down", "up failed"} {
		if got[title] != want[title] {
			s.t.Fatalf("session %d (%s): %d %q pushes, want %d: %v", n, k, got[title], title, want[title], all[s.pushSeen:])
		}
	}
	s.pushSeen = len(all)
}

// silent makes the modem hang until the agent has noticed and its
// recovery ladder has reached the reset; the owner's text comes while it
// is silent (stored, its +CMTI lost) and must be acted on once it answers.
func (s *soak) silent(n int) string {
	t, w := s.t, s.w
	log := w.agent.log
	noticed, resets, recovered := log.count("modem not answering"), log.count("resetting the modem"), log.count("modem recovered")
	from := time.Now()
	w.simulator.SetSilent(true)
	s.faults["modem silent (recovery ladder ran)"]++
	if !log.wait(ctxFor(t, 90*time.Second), "modem not answering", noticed+1) {
		t.Fatalf("session %d: the agent never noticed the silent modem", n)
	}
	noticedAfter := time.Since(from)
	if !log.wait(ctxFor(t, 90*time.Second), "resetting the modem", resets+1) {
		t.Fatalf("session %d: the recovery ladder never reached the reset", n)
	}
	resetAfter := time.Since(from)
	s.textUp(e2eSecret)
	w.simulator.SetSilent(false)
	silentFor := time.Since(from)
	if !log.wait(ctxFor(t, 90*time.Second), "modem recovered", recovered+1) {
		t.Fatalf("session %d: the modem never recovered", n)
	}
	return fmt.Sprintf("silent %.0fs: noticed after %.0fs, reset rung at %.0fs, recovered at %.0fs",
		silentFor.Seconds(), noticedAfter.Seconds(), resetAfter.Seconds(), time.Since(from).Seconds())
}

// fullSIM fills the SIM's storage with a stranger's junk until the network
// has to hold a text back (the proof that it is full), then the owner
// texts; that text waits behind the junk, and the inbox must clear the
// junk and take it.
func (s *soak) fullSIM(n int) string {
	t, w := s.t, s.w
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // see textUp
	junk := 0
	for w.simulator.Queued() == 0 {
		if junk > 3*soakCapacity {
			t.Fatalf("session %d: the SIM never filled (%d junk texts; stored %v)", n, junk, w.simulator.Stored())
		}
		junk++
		if _, err := w.simulator.Deliver(e2eStranger, fmt.Sprintf("WIN A PRIZE NOW %d", junk)); err != nil {
			t.Fatalf("session %d: deliver junk: %v", n, err)
		}
	}
	w.text(e2eSecret)
	queued := w.simulator.Queued()
	s.faults["SIM storage full"]++
	if queued > 1 {
		return fmt.Sprintf("%d junk texts for %d slots; the owner's text waited in the network behind %d", junk, soakCapacity, queued-1)
	}
	return fmt.Sprintf("%d junk texts for %d slots; a slot was free again when the owner's text came", junk, soakCapacity)
}

// waitSIMEmpty waits until the inbox has read and deleted everything.
func (s *soak) waitSIMEmpty(n int) {
	deadline := time.Now().Add(60 * time.Second)
	for len(s.w.simulator.Stored()) > 0 || s.w.simulator.Queued() > 0 {
		if time.Now().After(deadline) {
			s.t.Fatalf("session %d: texts left on the SIM: slots %v, %d queued", n, s.w.simulator.Stored(), s.w.simulator.Queued())
		}
		time.Sleep(200 * time.Millisecond) // nothing signals a delete
	}
}

// kill SIGKILLs oobd mid-session, checks that it left the link up, and
// restarts it: the restart's clean-up must take all of it down, and tell
// the owner the session went down with the killed run.
func (s *soak) kill(n int) string {
	t, w := s.t, s.w
	s.textUp(e2eSecret + " " + soakLong)
	s.waitUp(n)
	dialer := w.waitDialer(10 * time.Second)
	w.agent.signal(syscall.SIGKILL)
	if _, err := w.agent.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	s.faults["oobd SIGKILLed mid-session, restarted"]++
	if !alive(dialer) || w.jumpRoutes() == "" {
		t.Fatalf("session %d: the killed oobd left nothing to clean up (dialer alive %v, routes %q)", n, alive(dialer), w.jumpRoutes())
	}
	s.proc().killedIn = n
	w.start()
	s.newProc()
	w.assertClean()
	st, err := w.status()
	must(t, err)
	if st.Session.Active || !strings.Contains(st.Session.EndReason, "restarted") {
		t.Fatalf("session %d: after the restart the session shows %+v", n, st.Session)
	}
	s.waitDown(n, "restarted")
	s.killedDown++
	return "leftovers: dialer and host route; taken down by the restart"
}

// soakSample is the daemon's figures at one point.
type soakSample struct {
	fds, goroutines int
	rss             float64
	fdKinds         map[string]int // what the descriptors are, from /proc
	// From /proc, shown but not limited: OS threads; children, and
	// those of them that exited unreaped (zombies: limited to 0 at the end).
	threads, children, zombies int
}

// sample reads /metrics; settled takes the least of three reads a
// second apart (a scrape may meet a poll or a push in flight).
func (s *soak) sample(settled bool) soakSample {
	s.t.Helper()
	reads := 1
	if settled {
		reads = 3
	}
	var out soakSample
	for i := range reads {
		if i > 0 {
			time.Sleep(time.Second) // sampling, not waiting for anything
		}
		m := s.scrape()
		if i == 0 || m.fds < out.fds {
			out.fds, out.fdKinds = m.fds, m.fdKinds
		}
		if i == 0 || m.goroutines < out.goroutines {
			out.goroutines = m.goroutines
		}
		if i == 0 || m.rss < out.rss {
			out.rss = m.rss
		}
		if i == 0 || m.threads < out.threads {
			out.threads = m.threads
		}
		if i == 0 || m.zombies < out.zombies {
			out.children, out.zombies = m.children, m.zombies
		}
	}
	return out
}

// scrape reads go_goroutines, process_open_fds and
// process_resident_memory_bytes from the daemon's /metrics, and what its
// descriptors are from /proc.
func (s *soak) scrape() soakSample {
	s.t.Helper()
	ns := s.w.tp.Agent
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := netnstest.Do(ns, func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var body []string
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err = getLines(client, "http://"+s.w.health+"/metrics")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the endpoint starts with the daemon; nothing says when
	}
	if err != nil {
		s.t.Fatalf("scrape /metrics: %v", err)
	}
	var out soakSample
	found := 0
	for _, l := range body {
		name, val, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		f, perr := strconv.ParseFloat(strings.TrimSpace(val), 64)
		switch name {
		case "go_goroutines":
			out.goroutines = int(f)
		case "process_open_fds":
			out.fds = int(f)
		case "process_resident_memory_bytes":
			out.rss = f
		default:
			continue
		}
		if perr != nil {
			s.t.Fatalf("metric %s: %v", name, perr)
		}
		found++
	}
	if found != 3 {
		s.t.Fatalf("/metrics lacks go_goroutines, process_open_fds or process_resident_memory_bytes")
	}
	pid := s.w.agent.Pid()
	out.fdKinds = fdKinds(pid)
	out.threads, out.children, out.zombies = procCounts(pid)
	return out
}

// procCounts reads a process's thread count, and counts its children and
// the zombies among them.
func procCounts(pid int) (threads, children, zombies int) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Threads:"); ok {
				threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(st), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:])) // state, ppid, ...
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			children++
			if f[0] == "Z" {
				zombies++
			}
		}
	}
	return threads, children, zombies
}

func getLines(c *http.Client, url string) ([]string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// fdKinds counts a process's descriptors by what they are: socket, pipe,
// anon_inode:[eventpoll], /dev/pts, or the file's path.
func fdKinds(pid int) map[string]int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	out := map[string]int{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(target, "socket:"):
			target = "socket"
		case strings.HasPrefix(target, "pipe:"):
			target = "pipe"
		case strings.HasPrefix(target, "/dev/pts/"):
			target = "/dev/pts/N"
		}
		out[target]++
	}
	return out
}

// fdDiff says which kinds of descriptor grew or shrank.
func fdDiff(a, b map[string]int) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		if d := b[k] - a[k]; d != 0 {
			out = append(out, fmt.Sprintf("%s %+d", k, d))
		}
	}
	if len(out) == 0 {
		return "no change by kind"
	}
	return strings.Join(out, ", ")
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// finish checks the growth of the last process, and prints the summary.
func (s *soak) finish(took time.Duration) {
	t, w := s.t, s.w
	w.assertNoSecret()
	var lock struct {
		Lockout struct {
			Active   bool `json:"active"`
			Failures int  `json:"failures"`
		} `json:"lockout"`
	}
	statusJSON(t, w, &lock)
	if lock.Lockout.Active {
		t.Errorf("a lockout started (%d failures)", lock.Lockout.Failures)
	}

	last := s.proc()
	if last.warm == nil || len(last.sessions) < 2 {
		t.Fatalf("the last process ran %d sessions: nothing to compare", len(last.sessions))
	}
	end := s.sample(true)
	last.end = &end
	warm := *last.warm

	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	fmt.Fprintf(&b, "| soak | %s |\n|---|---|\n", time.Now().Format("2006-01-02 15:04"))
	var kinds []string
	for _, k := range soakPlan() {
		if !slices.Contains(kinds, string(k)) {
			kinds = append(kinds, string(k))
		}
	}
	var kindCounts []string
	for _, k := range kinds {
		kindCounts = append(kindCounts, fmt.Sprintf("%s %d", k, s.kinds[soakKind(k)]))
	}
	row("sessions", fmt.Sprintf("%d: %d came up, %d could not (by design: every dial failed)", len(soakPlan()), s.up, s.failed))
	row("session kinds", strings.Join(kindCounts, ", "))
	var faults []string
	for k := range s.faults {
		faults = append(faults, k)
	}
	slices.Sort(faults)
	for _, f := range faults {
		row("fault: "+f, strconv.Itoa(s.faults[f]))
	}
	total := 0
	var notices []string
	for _, k := range []string{"link up push", "link down SMS", "link down push", "up failed SMS", "up failed push"} {
		total += s.notices[k]
		notices = append(notices, fmt.Sprintf("%s %d", k, s.notices[k]))
	}
	row("notices checked", fmt.Sprintf("%d (%s)", total, strings.Join(notices, ", ")))
	row("killed sessions told \"link down\" after the restart", fmt.Sprintf("%d of %d", s.killedDown, s.kinds[kKill]))
	var titles []string
	for k, v := range s.pushTitles {
		titles = append(titles, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(titles)
	row("all pushes", strings.Join(titles, ", "))
	row("lockout", fmt.Sprintf("active %v; %d recent failures counted (trigger.max_failures %d)", lock.Lockout.Active, lock.Lockout.Failures, soakMaxFailures))
	row("leftover checks (ppp0, host route, dialer) passed", fmt.Sprintf("%d of %d", s.cleanRuns, len(soakPlan())))
	for _, p := range s.procs {
		how := "ran to the end"
		if p.killedIn > 0 {
			how = fmt.Sprintf("SIGKILLed in session %d", p.killedIn)
		}
		if p.warm == nil || p.end == nil {
			row(fmt.Sprintf("oobd #%d (pid %d)", p.n, p.pid), fmt.Sprintf("%d sessions, %s", len(p.sessions), how))
			continue
		}
		row(fmt.Sprintf("oobd #%d (pid %d)", p.n, p.pid), fmt.Sprintf("%d sessions (%d-%d), %s; after session %d → after session %d: fds %d → %d, goroutines %d → %d, RSS %s → %s",
			len(p.sessions), p.sessions[0], p.sessions[len(p.sessions)-1], how, p.warmAfter, p.sessions[len(p.sessions)-1],
			p.warm.fds, p.end.fds, p.warm.goroutines, p.end.goroutines, mib(p.warm.rss), mib(p.end.rss)))
	}
	rssGrowth := (end.rss - warm.rss) / warm.rss
	row("fds, warm → end (last process)", fmt.Sprintf("%d → %d (%+d, limit +%d)", warm.fds, end.fds, end.fds-warm.fds, soakMaxFDGrowth))
	row("goroutines, warm → end", fmt.Sprintf("%d → %d (%+d, limit +%d)", warm.goroutines, end.goroutines, end.goroutines-warm.goroutines, soakMaxGoroutineGrowth))
	row("RSS, warm → end", fmt.Sprintf("%s → %s (%+.1f%%, limit +%.0f%%)", mib(warm.rss), mib(end.rss), 100*rssGrowth, 100*soakMaxRSSGrowth))
	row("threads, children (zombies), warm → end", fmt.Sprintf("%d → %d; %d (%d) → %d (%d)", warm.threads, end.threads, warm.children, warm.zombies, end.children, end.zombies))
	var series []string
	for _, smp := range last.series {
		series = append(series, fmt.Sprintf("%d/%d/%.1f", smp.fds, smp.goroutines, smp.rss/(1<<20)))
	}
	row("last process after each session (fds/goroutines/RSS MiB)", strings.Join(series, " "))
	for _, lv := range []string{"ERROR", "WARN"} {
		row("oobd log: "+lv+" lines by message", logLevels(w, lv))
	}
	row("longest session", fmt.Sprintf("%.1fs (session %d)", s.longest.Seconds(), s.longestN))
	row("time taken", took.Round(time.Second).String())
	table := b.String()
	t.Logf("soak summary:\n%s", table)
	if path := os.Getenv("SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Errorf("SOAK_REPORT: %v", err)
		}
	}

	for _, a := range w.agents {
		if strings.Contains(a.log.String(), "panicked") {
			t.Errorf("oobd (%s) recovered from a panic", a.logPath)
		}
	}
	if d := end.fds - warm.fds; d > soakMaxFDGrowth {
		t.Errorf("open descriptors grew by %d (more than %d): %s", d, soakMaxFDGrowth, fdDiff(warm.fdKinds, end.fdKinds))
	}
	if d := end.goroutines - warm.goroutines; d > soakMaxGoroutineGrowth {
		t.Errorf("goroutines grew by %d (more than %d)", d, soakMaxGoroutineGrowth)
	}
	if end.zombies > 0 {
		t.Errorf("oobd has %d zombie children at the end: exited, never waited for", end.zombies)
	}
	if rssGrowth > soakMaxRSSGrowth {
		t.Errorf("RSS grew by %.1f%% (more than %.0f%%)", 100*rssGrowth, 100*soakMaxRSSGrowth)
	}
}

// statusJSON reads `oobd status --json` into v.
func statusJSON(t *testing.T, w *world, v any) {
	t.Helper()
	out, err := exec.Command(bins.oobd, "status", "--json", "--config", w.cfgPath).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: a check fails, or no daemon
		t.Fatalf("oobd status: %v", err)
	}
	must(t, json.Unmarshal(out, v))
}

// logLevels counts every oobd's log lines of level lv by their message.
func logLevels(w *world, lv string) string {
	counts := map[string]int{}
	for _, a := range w.agents {
		sc := bufio.NewScanner(strings.NewReader(a.log.String()))
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			l := sc.Text()
			if !strings.Contains(l, " level="+lv+" ") {
				continue
			}
			counts[logMsg(l)]++
		}
	}
	var out []string
	for m, c := range counts {
		out = append(out, fmt.Sprintf("%s ×%d", m, c))
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// logMsg is the msg of a slog text line.
func logMsg(l string) string {
	_, rest, ok := strings.Cut(l, " msg=")
	if !ok {
		return l
	}
	if strings.HasPrefix(rest, `"`) {
		if m, err := strconv.QuotedPrefix(rest); err == nil {
			u, _ := strconv.Unquote(m)
			return u
		}
	}
	m, _, _ := strings.Cut(rest, " ")
	return m
}

// keepLogs copies every oobd's log to dir.
func keepLogs(t *testing.T, w *world, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("SOAK_LOGDIR: %v", err)
		return
	}
	for _, a := range w.agents {
		b, err := os.ReadFile(a.logPath)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(a.logPath)), b, 0o644)
		}
		if err != nil {
			t.Errorf("SOAK_LOGDIR: %v", err)
		}
	}
}
