//go:build linux

package agent_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/netnstest"
	"github.com/oobd/oobd/internal/promtest"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/notify"
)

// Bounds for things that signal when they happen; generous, since the
// machine may be busy. None of them is a timing assertion.
const (
	upWithin   = 60 * time.Second
	downWithin = 60 * time.Second
)

// upAndIn texts the secret, waits for the "link up" push and logs in
// through the tunnel; it returns the push.
func (w *world) upAndIn(text string) push {
	w.t.Helper()
	w.text(text)
	p := w.waitPush(upWithin, "link up")
	if !strings.Contains(p.Message, strconv.Itoa(remotePort)) {
		w.t.Errorf("link up push does not name the bound port %d:\n%s", remotePort, p.Message)
	}
	w.assertOwnerGetsIn(30*time.Second, remotePort)
	return p
}

// TestE2EHappyPath: text → link → tunnel → push → ssh -J reaches the box
// → expiry → teardown → "link down" SMS and push.
func TestE2EHappyPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	up := w.upAndIn(e2eSecret + " up")
	for _, want := range []string{e2eOwner, "ppp0", "10.64.0.2", netnstest.JumpIP.String()} {
		if !strings.Contains(up.Message, want) {
			t.Errorf("link up push lacks %q:\n%s", want, up.Message)
		}
	}
	// The tunnel came over the link, never over the LAN.
	sshdLog := w.jump.LogTail(400)
	if !strings.Contains(sshdLog, "Connection from 10.64.0.2 ") || strings.Contains(sshdLog, "Connection from "+netnstest.AgentLANIP.String()+" ") {
		t.Errorf("the jump host did not see the agent come from the link address only:\n%s", sshdLog)
	}
	st, err := w.status()
	must(t, err)
	if !st.Session.Active || st.Session.Interface != "ppp0" || len(st.Session.Forwards) != 1 || st.Session.Forwards[0].BoundPort != remotePort {
		t.Errorf("status during the session: %+v", st.Session)
	}

	down := w.waitSMS(downWithin, 1)
	t.Logf("link down SMS: %s", down.Text)
	if down.To != e2eOwner {
		t.Errorf("link down SMS to %q, want %q", down.To, e2eOwner)
	}
	for _, want := range []string{"DOWN", "time is up", "used"} {
		if !strings.Contains(down.Text, want) {
			t.Errorf("link down SMS lacks %q: %q", want, down.Text)
		}
	}
	p := w.waitPush(downWithin, "link down")
	if !strings.Contains(p.Message, "time is up") {
		t.Errorf("link down push: %q", p.Message)
	}
	w.assertClean()
	st, err = w.status()
	must(t, err)
	if st.Session.Active {
		t.Errorf("session still active after teardown: %+v", st.Session)
	}
	w.assertNoSecret()
}

// TestE2EWrongPath: the dialer's interface comes up but the carrier drops
// everything, while the LAN still reaches the jump host. The path proof
// fails on every try, the requester learns why, nothing is left up, and the
// jump host never sees a connection (from the LAN or anywhere).
func TestE2EWrongPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{fakeppp: []string{"-no-connect"}, attempts: 2})
	w.text(e2eSecret)
	// The try's probe waits out its own timeout on each of the 2 tries.
	sms := w.waitSMS(3*time.Minute, 1)
	if sms.To != e2eOwner || !strings.Contains(sms.Text, "failed") {
		t.Errorf("failure SMS to %s: %q", sms.To, sms.Text)
	}
	if !strings.Contains(sms.Text, "link") {
		t.Errorf("failure SMS does not say the link failed: %q", sms.Text)
	}
	p := w.waitPush(30*time.Second, "up failed")
	t.Logf("failure push: %s", p.Message)
	w.assertClean()
	if runs := readCounter(t, w.counter); runs != 2 {
		t.Errorf("dialer ran %d times, want link.attempts = 2", runs)
	}
	if w.push.count("link up") != 0 {
		t.Errorf("a link up push was sent: %v", w.push.all())
	}
	if strings.Contains(w.jump.LogTail(400), "Connection from") {
		t.Errorf("the jump host's sshd saw a connection:\n%s", w.jump.LogTail(40))
	}
	st, err := w.status()
	must(t, err)
	if st.Session.Active || st.LastFailure == nil {
		t.Errorf("status after the failed up: session %+v, last failure %+v", st.Session, st.LastFailure)
	}
	w.assertNoSecret()
}

func readCounter(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must(t, err)
	return n
}

// TestE2EHostKeyChanged: known_hosts holds another key for the jump host:
// the tunnel is refused, the requester is told so by SMS and push, and the
// link is taken down.
func TestE2EHostKeyChanged(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{wrongHostKey: true})
	w.text(e2eSecret + " up 5m")
	sms := w.waitSMS(upWithin, 1)
	if sms.To != e2eOwner || !strings.Contains(strings.ToLower(sms.Text), "host key") {
		t.Errorf("failure SMS to %s does not say the host key changed: %q", sms.To, sms.Text)
	}
	p := w.waitPush(30*time.Second, "up failed")
	if !strings.Contains(p.Message, "CHANGED") && !strings.Contains(p.Message, "changed") {
		t.Errorf("failure push does not say the host key changed: %q", p.Message)
	}
	t.Logf("failure SMS: %s", sms.Text)
	w.assertClean()
	if w.push.count("link up") != 0 {
		t.Errorf("a link up push was sent: %v", w.push.all())
	}
	w.assertNoSecret()
}

// down ends the session with `oobd down` (the control socket) and waits for
// the "link down" SMS, the n-th SMS of the test.
func (w *world) down(n int) modemsim.Sent {
	w.t.Helper()
	if out, err := w.ctl("down"); err != nil {
		w.t.Fatalf("oobd down: %v: %s", err, out)
	}
	sms := w.waitSMS(downWithin, n)
	if sms.To != e2eOwner || !strings.Contains(sms.Text, "DOWN") {
		w.t.Errorf("link down SMS to %s: %q", sms.To, sms.Text)
	}
	return sms
}

// TestE2ESSHDRestart: the jump host's sshd restarts mid-session; the
// tunnel comes back on its own and the owner gets in again.
func TestE2ESSHDRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{duration: 5 * time.Minute})
	w.upAndIn(e2eSecret)
	w.jump.Restart()
	w.waitStatus(60*time.Second, "a reconnect", func(st status) bool {
		return st.Session.Active && st.Session.Reconnects >= 1
	})
	w.assertOwnerGetsIn(60*time.Second, remotePort)
	if n := len(w.simulator.Sent()); n != 0 {
		t.Errorf("SMS sent before the end: %v", w.simulator.Sent())
	}
	w.down(1)
	w.assertClean()
	w.assertNoSecret()
}

// TestE2EDialerDiesRedial: the carrier hangs up mid-session; the link is
// redialed (a second dialer run) and the session carries on.
func TestE2EDialerDiesRedial(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{duration: 5 * time.Minute})
	w.upAndIn(e2eSecret)
	first := w.waitDialer(5 * time.Second)
	must(t, syscall.Kill(first, syscall.SIGUSR1)) // fakeppp: "Modem hangup"
	second := w.waitDialer(60*time.Second, first)
	w.assertOwnerGetsIn(60*time.Second, remotePort)
	if runs := readCounter(t, w.counter); runs != 2 {
		t.Errorf("dialer ran %d times, want 2", runs)
	}
	st, err := w.status()
	must(t, err)
	if !st.Session.Active {
		t.Errorf("session not active after the redial: %+v", st.Session)
	}
	if n := len(w.simulator.Sent()); n != 0 {
		t.Errorf("SMS sent before the end: %v", w.simulator.Sent())
	}
	w.down(1)
	w.assertClean()
	if alive(second) {
		t.Errorf("second dialer %d still running", second)
	}
}

// TestE2EDialerDiesRedialFails: the carrier hangs up and every redial
// fails: the session ends with an SMS saying the link was lost.
func TestE2EDialerDiesRedialFails(t *testing.T) {
	t.Parallel()
	// fakeppp fails runs 1..5 of its counter: starting at 10, the first
	// dial works; resetting the counter makes the redials fail.
	w := newWorld(t, setup{duration: 5 * time.Minute, attempts: 2, counterStart: 10, fakeppp: []string{"-fail-first", "5"}})
	w.upAndIn(e2eSecret)
	must(t, os.WriteFile(w.counter, []byte("0"), 0o600))
	must(t, syscall.Kill(w.waitDialer(5*time.Second), syscall.SIGUSR1))
	sms := w.waitSMS(2*time.Minute, 1)
	t.Logf("link down SMS: %s", sms.Text)
	if sms.To != e2eOwner || !strings.Contains(sms.Text, "DOWN") || !strings.Contains(sms.Text, "link dropped") ||
		!strings.Contains(sms.Text, "redial failed") {
		t.Errorf("link down SMS to %s does not say the link was lost and the redial failed: %q", sms.To, sms.Text)
	}
	// The bytes of the dropped link count: the owner's ssh went through it.
	if strings.Contains(sms.Text, " 0B used") {
		t.Errorf("link down SMS lost the dropped link's bytes: %q", sms.Text)
	}
	w.waitPush(30*time.Second, "link down")
	if runs := readCounter(t, w.counter); runs != 2 {
		t.Errorf("redial ran the dialer %d times, want link.attempts = 2", runs)
	}
	w.assertClean()
	st, err := w.status()
	must(t, err)
	if st.Session.Active {
		t.Errorf("session still active: %+v", st.Session)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestE2ESIGTERM: SIGTERM mid-session tears everything down, sends the
// "link down" SMS, and oobd exits 0.
func TestE2ESIGTERM(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{duration: 5 * time.Minute})
	w.upAndIn(e2eSecret)
	w.agent.signal(syscall.SIGTERM)
	code, err := w.agent.Wait(60 * time.Second)
	must(t, err)
	if code != 0 {
		t.Errorf("oobd exited %d after SIGTERM, want 0", code)
	}
	w.assertClean()
	sent := w.simulator.Sent()
	if len(sent) != 1 || sent[0].To != e2eOwner || !strings.Contains(sent[0].Text, "DOWN") {
		t.Errorf("after SIGTERM, want one link down SMS to the owner; sent %v", sent)
	}
	if w.push.count("link down") != 1 {
		t.Errorf("link down pushes: %v", w.push.all())
	}
	w.assertNoSecret()
}

// TestE2ESIGKILLRestart: after SIGKILL the dialer and the host route are
// left behind; the next oobd cleans them up and is ready for a new text.
func TestE2ESIGKILLRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{duration: 5 * time.Minute})
	w.upAndIn(e2eSecret)
	dialer := w.waitDialer(5 * time.Second)
	w.agent.signal(syscall.SIGKILL)
	killRestart(t, w, dialer)
}

// The dialer as owners often write it: a shell script around the real
// one, which runs as the script's child. After a SIGKILL of oobd and a
// restart, the script, its child, ppp0 and the route are all gone.
func TestE2ESIGKILLRestartScriptDialer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{duration: 5 * time.Minute, dialerScript: true})
	w.upAndIn(e2eSecret)
	dialer := w.waitDialer(5 * time.Second)
	tree := w.processTree()
	if !strings.Contains(tree, filepath.Base(w.script)) {
		t.Fatalf("the wrapper script is not running:\n%s", tree)
	}
	t.Logf("a session up:\n%s", tree)
	w.agent.signal(syscall.SIGKILL)
	if _, err := w.agent.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("after SIGKILL of oobd:\n%s", w.processTree())
	killRestart(t, w, dialer)
}

// killRestart checks that a SIGKILLed oobd left its dialer and route up,
// then restarts it and checks that the start-up clean-up took everything
// down, and that the next session works.
func killRestart(t *testing.T, w *world, dialer int) {
	t.Helper()
	if _, err := w.agent.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !alive(dialer) {
		t.Fatalf("the dialer %d died with oobd: nothing left to clean up", dialer)
	}
	if w.jumpRoutes() == "" {
		t.Fatal("the host route went with oobd: nothing left to clean up")
	}

	w.start()
	w.assertClean()
	t.Logf("after the restart's clean-up:\n%s", w.processTree())
	st, err := w.status()
	must(t, err)
	if st.Session.Active {
		t.Errorf("the killed run's session still shows as active: %+v", st.Session)
	}
	t.Logf("after restart: %q", st.Session.EndReason)
	// The owner last heard "link up": the restart says it went down.
	sms := w.waitSMS(downWithin, 1)
	if sms.To != e2eOwner || !strings.Contains(sms.Text, "DOWN") || !strings.Contains(sms.Text, "restarted") {
		t.Errorf("link down SMS after the restart: to %s: %q", sms.To, sms.Text)
	}
	w.waitPush(30*time.Second, "link down")
	t.Logf("the owner was told: %q", sms.Text)

	w.push.reset()
	w.upAndIn(e2eSecret)
	w.down(2)
	w.assertClean()
	w.assertNoSecret()
}

// TestE2EPushoverFails: the Pushover API answers 500; the session still
// comes up, tears down on time, and the failure is only logged.
func TestE2EPushoverFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{pushStatus: 500})
	w.text(e2eSecret)
	// The up push was tried (and refused) once the session was up.
	if _, err := w.push.wait(ctxFor(t, upWithin), "link up"); err != nil {
		t.Fatalf("no link up push tried: %v", err)
	}
	w.assertOwnerGetsIn(30*time.Second, remotePort)
	sms := w.waitSMS(downWithin, 1)
	if !strings.Contains(sms.Text, "time is up") {
		t.Errorf("link down SMS: %q", sms.Text)
	}
	w.assertClean()
	if !w.agent.log.wait(ctxFor(t, 30*time.Second), "push not sent", 2) {
		t.Errorf("the failed pushes were not logged")
	}
	if w.agent.Exited() {
		t.Errorf("oobd exited")
	}
}

// TestE2EModemSilent: the modem stops answering for about 20 s (polls
// fail, the agent runs its recovery), then comes back; a text sent after
// that is acted on.
func TestE2EModemSilent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{schedule: "@every 3s"})
	silentFrom := time.Now()
	w.simulator.SetSilent(true)
	// Silent for about 20 s, and at least until the agent has noticed (its
	// poll's commands time out and it starts the recovery).
	if !w.agent.log.wait(ctxFor(t, 90*time.Second), "modem not answering", 1) {
		t.Fatal("the agent never noticed the silent modem")
	}
	time.Sleep(time.Until(silentFrom.Add(20 * time.Second)))
	t.Logf("modem silent for %v", time.Since(silentFrom).Round(time.Second))
	w.simulator.SetSilent(false)
	w.text(e2eSecret)
	p, err := w.push.wait(ctxFor(t, 3*time.Minute), "link up")
	if err != nil {
		t.Fatalf("the text sent after the modem came back was not acted on: %v", err)
	}
	if !strings.Contains(p.Message, strconv.Itoa(remotePort)) {
		t.Errorf("link up push: %q", p.Message)
	}
	w.assertOwnerGetsIn(30*time.Second, remotePort)
	sms := w.waitSMS(downWithin, 1)
	if !strings.Contains(sms.Text, "DOWN") {
		t.Errorf("link down SMS: %q", sms.Text)
	}
	w.assertClean()
	st := w.waitStatus(30*time.Second, "the modem answering", func(st status) bool { return st.Modem.OK })
	t.Logf("modem after recovery: %+v", st.Modem)
	w.assertNoSecret()
}

// TestE2EStorageFull: the SIM's storage is full of junk before oobd
// starts; oobd reads, audits and deletes it all, and a valid text then
// works.
func TestE2EStorageFull(t *testing.T) {
	t.Parallel()
	const capacity = 5
	w := newWorld(t, setup{
		simOpts: []modemsim.Option{modemsim.WithCapacity(capacity)},
		beforeStart: func(w *world) {
			junk := []struct{ from, text string }{
				{e2eStranger, "hello, is this thing on?"},
				{e2eStranger, "up"},
				{"Telia", "Your invoice is ready"},
				{"+15551234567", "WIN A PRIZE NOW"},
			}
			for _, j := range junk {
				if _, err := w.simulator.Deliver(j.from, j.text); err != nil {
					w.t.Fatalf("deliver junk: %v", err)
				}
			}
			if _, err := w.simulator.DeliverData(e2eStranger, []byte{0x00, 0xff, 0x13, 0x37}); err != nil {
				w.t.Fatalf("deliver binary junk: %v", err)
			}
			if _, err := w.simulator.Deliver(e2eOwner, e2eSecret); !errors.Is(err, modemsim.ErrStorageFull) {
				w.t.Fatalf("storage not full before the start: %v", err)
			}
		},
	})
	deadline := time.Now().Add(60 * time.Second)
	for len(w.simulator.Stored()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("junk still stored in slots %v", w.simulator.Stored())
		}
		time.Sleep(100 * time.Millisecond)
	}
	audit, err := os.ReadFile(filepath.Join(w.stateDir, "audit.log"))
	must(t, err)
	if n := strings.Count(string(audit), "\n"); n < capacity {
		t.Errorf("audit log has %d records, want at least %d:\n%s", n, capacity, audit)
	}
	if sent := w.simulator.Sent(); len(sent) != 0 {
		t.Errorf("junk was answered: %v", sent)
	}
	w.upAndIn(e2eSecret)
	w.down(1)
	w.assertClean()
	w.assertNoSecret()
}

// TestE2EStrangersPartsFillTheSIM: oobd starts (after a crash, an
// upgrade) to a 10-slot SIM full of strangers' parts of texts that never
// complete, and the network holds the owner's up until a slot frees. The
// first poll deletes the parts; the owner's text lands, its +CMTI wakes
// the reader, and the tunnel comes up, long before a second poll.
func TestE2EStrangersPartsFillTheSIM(t *testing.T) {
	t.Parallel()
	var started time.Time
	w := newWorld(t, setup{
		schedule: "@every 1h",
		simOpts:  []modemsim.Option{modemsim.WithCapacity(10), modemsim.WithNetworkQueue()},
		beforeStart: func(w *world) {
			for i := range 10 {
				// Part 1 of 2 only: they would wait for ever.
				if _, err := w.simulator.Deliver(fmt.Sprintf("+1555000%04d", i), strings.Repeat("spam ", 40), modemsim.WithoutParts(2)); err != nil {
					w.t.Fatalf("deliver a stranger's part: %v", err)
				}
			}
			w.text(e2eSecret + " up")
			if q := w.simulator.Queued(); q != 1 {
				w.t.Fatalf("the network holds %d parts, want the owner's text", q)
			}
			started = time.Now()
		},
	})
	w.waitPush(upWithin, "link up")
	w.assertOwnerGetsIn(30*time.Second, remotePort)
	t.Logf("the owner's text, held while the SIM was full, raised the tunnel %v after oobd started", time.Since(started).Round(time.Millisecond))
	audit, err := os.ReadFile(filepath.Join(w.stateDir, "audit.log"))
	must(t, err)
	if n := strings.Count(string(audit), `"verdict":"unknown-sender"`); n != 10 {
		t.Errorf("%d strangers' parts audited, want 10:\n%s", n, audit)
	}
	if sent := w.simulator.Sent(); len(sent) != 0 {
		t.Errorf("strangers were answered: %v", sent)
	}
	w.down(1)
	w.assertClean()
}

// TestE2ETwoPort: with a separate data port the texts are read during the
// session: status is answered, extend moves the end, down ends it. The
// jump host is given by name, resolved over the link via link.dns.
func TestE2ETwoPort(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{dataPort: true, jumpName: "jump.test", duration: 2 * time.Minute})
	w.upAndIn(e2eSecret)
	upSMS := w.waitSMS(30*time.Second, 1)
	if upSMS.To != e2eOwner || !strings.Contains(upSMS.Text, "UP") {
		t.Errorf("two-port up SMS to %s: %q", upSMS.To, upSMS.Text)
	}
	for _, src := range w.dns.Sources() {
		if src != netip.MustParseAddr("10.64.0.2") {
			t.Errorf("DNS query from %v, not over the link", src)
		}
	}
	if len(w.dns.Sources()) == 0 {
		t.Error("the jump host's name was never looked up")
	}
	before := w.waitStatus(10*time.Second, "the session", func(st status) bool { return st.Session.Active && st.Session.Until != nil })

	w.text(e2eSecret + " status")
	reply := w.waitSMS(60*time.Second, 2)
	if reply.To != e2eOwner || !strings.Contains(reply.Text, "until") {
		t.Errorf("status reply to %s: %q", reply.To, reply.Text)
	}
	t.Logf("status reply: %s", reply.Text)

	w.text(e2eSecret + " extend 10m")
	reply = w.waitSMS(60*time.Second, 3)
	if !strings.Contains(reply.Text, "extended") {
		t.Errorf("extend reply: %q", reply.Text)
	}
	after := w.waitStatus(10*time.Second, "the end moved", func(st status) bool {
		return st.Session.Until != nil && st.Session.Until.Sub(*before.Session.Until) >= 9*time.Minute
	})
	t.Logf("until %v -> %v", before.Session.Until, after.Session.Until)

	w.text(e2eSecret + " down")
	down := w.waitSMS(downWithin, 4)
	if down.To != e2eOwner || !strings.Contains(down.Text, "DOWN") || !strings.Contains(down.Text, "down by") {
		t.Errorf("link down SMS to %s: %q", down.To, down.Text)
	}
	w.waitPush(30*time.Second, "link down")
	w.assertClean()
	w.assertNoSecret()
}

// A real Prometheus in the agent's namespace scrapes the daemon: the
// signal and, after a drill, the drill's result and steps come back
// through Prometheus's own API.
func TestE2EPrometheusScrapes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{health: true})
	if out, err := w.ctl("drill"); err != nil {
		t.Fatalf("oobd drill: %v\n%s", err, out)
	}
	prom := promtest.Start(t, promtest.Options{Targets: []string{w.health}, Netns: w.tp.Agent})
	signal := prom.Await(t, "oobd_signal_dbm", 30*time.Second)
	if v := signal[0].Value; v > -50 || v < -113 {
		t.Errorf("oobd_signal_dbm = %v", v)
	}
	if got := prom.Await(t, "oobd_drill_success", 30*time.Second); got[0].Value != 1 {
		t.Errorf("oobd_drill_success = %v, want 1", got[0].Value)
	}
	steps := prom.Await(t, `oobd_drill_step_duration_seconds{step="self-check"}`, 30*time.Second)
	if steps[0].Value <= 0 {
		t.Errorf("self-check step took %v s", steps[0].Value)
	}
	if got := prom.Await(t, `oobd_health_check{check="drill"}`, 30*time.Second); got[0].Value != 1 {
		t.Errorf("the drill check: %v", got[0].Value)
	}
	// The scrape as it leaves the daemon: oobd's own series.
	_, body := w.get("/metrics")
	var own []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "oobd_") {
			own = append(own, l)
		}
	}
	if !slices.Contains(own, "oobd_drill_success 1") {
		t.Errorf("the scrape lacks oobd_drill_success 1:\n%s", body)
	}
	t.Logf("oobd's series in one scrape:\n%s", strings.Join(own, "\n"))
}

// get asks the daemon's health endpoint (setup.health) for path, from
// inside the agent's namespace, and returns the status code and body.
func (w *world) get(path string) (int, string) {
	w.t.Helper()
	var c net.Conn
	must(w.t, netnstest.Do(w.tp.Agent, func() (err error) { c, err = net.Dial("tcp", w.health); return err }))
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	_, err := io.WriteString(c, "GET "+path+" HTTP/1.0\r\nHost: oobd\r\n\r\n")
	must(w.t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	must(w.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(w.t, err)
	return resp.StatusCode, string(body)
}

// TestE2EFailedDrillAndUpAreTold: the jump host's key changed. A drill
// fails at the tunnel and /healthz says so (503, the drill check); an up
// fails too, and the status SMS then leads with that failure, whole,
// before the signal, and leaves out the operator's long name (UCS-2 on
// the air) to stay one SMS.
func TestE2EFailedDrillAndUpAreTold(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{wrongHostKey: true, health: true,
		simOpts: []modemsim.Option{modemsim.WithOperator("Мегафон Москва Северо-Запад", "25002")}})
	if out, err := w.ctl("drill"); err == nil {
		t.Fatalf("a drill passed with a changed host key: %s", out)
	}
	code, body := w.get("/healthz")
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Detail string
			OK           bool
		} `json:"checks"`
	}
	must(t, json.Unmarshal([]byte(body), &rep))
	failing := map[string]string{}
	for _, c := range rep.Checks {
		if !c.OK {
			failing[c.Name] = c.Detail
		}
	}
	if code != http.StatusServiceUnavailable || rep.OK || len(failing) != 1 || !strings.Contains(failing["drill"], "failed at tunnel: host key") {
		t.Errorf("/healthz after a failed drill: %d, failing %v:\n%s", code, failing, body)
	}
	t.Logf("GET /healthz after the failed drill: %d\n%s", code, body)

	w.text(e2eSecret + " up")
	failed := w.waitSMS(upWithin, 1)
	if !strings.Contains(failed.Text, "failed") {
		t.Errorf("failure notice: %q", failed.Text)
	}
	w.text(e2eSecret + " status")
	st := w.waitSMS(60*time.Second, 2)
	if !strings.HasPrefix(st.Text, "oobd idle; fail ") || !strings.Contains(st.Text, "tunnel") || !strings.Contains(st.Text, "dBm") ||
		strings.Contains(st.Text, "Мегафон") {
		t.Errorf("status SMS after the failed up: %q", st.Text)
	}
	if n, _ := notify.Septets(st.Text); n > notify.SMSMaxSeptets {
		t.Errorf("status SMS is %d septets, more than one SMS: %q", n, st.Text)
	}
	t.Logf("status SMS after the failed up: %q", st.Text)
	w.assertClean()
}

// TestE2ERedialKeepsTheTunnel: the carrier hangs up and the redial gets
// the same address: the tunnel's connection, rebound to the new ppp0,
// answers and is kept, with its forward; the owner's session through it
// carries on, the jump host sees no second login, and no second "link
// up" is pushed.
func TestE2ERedialKeepsTheTunnel(t *testing.T) {
	t.Parallel()
	// The example's ClientAlive (15s x 2), and no keepalive of the
	// tunnel's due before the drop (1m): nothing of the jump host's is in
	// flight when the link goes, which could meet the new ppp0 before the
	// rebind and be reset (the tunnel's redial tests show both outcomes).
	w := newWorld(t, setup{duration: 5 * time.Minute, keepalive: time.Minute, clientAlive: 15 * time.Second})
	w.upAndIn(e2eSecret)
	sess := w.ownerSession(60*time.Second, remotePort)
	first := w.waitDialer(5 * time.Second)
	hungUp := time.Now()
	must(t, syscall.Kill(first, syscall.SIGUSR1)) // fakeppp: "Modem hangup"
	if !w.agent.log.wait(ctxFor(t, 2*time.Minute), "link redialed", 1) {
		t.Fatal("the link was not redialed")
	}
	t.Logf("the tunnel answered the self-check %v after the hang-up (same address)", time.Since(hungUp).Round(time.Millisecond))
	if n := w.agent.log.count("connection kept across the redial"); n != 1 {
		t.Errorf("the tunnel did not keep its connection (%d):\n%s", n, w.agent.log.String())
	}
	if got := sess.echo(30*time.Second, "after the redial"); got != "got after the redial" {
		t.Errorf("owner's session after the redial: %q", got)
	}
	if n := w.agentLogins("10.64.0.2"); n != 1 {
		t.Errorf("the agent logged in %d times at the jump host, want 1", n)
	}
	w.assertRedialed("10.64.0.2", 0)
	if runs := readCounter(t, w.counter); runs != 2 {
		t.Errorf("dialer ran %d times, want 2", runs)
	}
	w.down(1)
	w.assertClean()
}

// assertRedialed checks the session after a redial: still active on the
// new link's address, with the tunnel's reconnects, the same forwarded
// port, and no second "link up" push.
func (w *world) assertRedialed(localIP string, reconnects int) {
	w.t.Helper()
	st, err := w.status()
	must(w.t, err)
	if !st.Session.Active || st.Session.LocalIP != localIP || st.Session.Reconnects != reconnects ||
		len(st.Session.Forwards) != 1 || st.Session.Forwards[0].BoundPort != remotePort {
		w.t.Errorf("status after the redial: %+v, want active on %s with %d reconnects", st.Session, localIP, reconnects)
	}
	if n := w.push.count("link up"); n != 1 {
		w.t.Errorf("%d link up pushes, want 1: %v", n, w.push.all())
	}
}

// TestE2ERedialOtherAddress: the redial gets another address: the
// tunnel lets the old connection go and connects again from the new
// address; the jump host refuses the forward while the dead session holds
// its port ("Address already in use"), until its ClientAlive probes give
// up; then the forward is bound again on the same port and the owner gets
// in.
func TestE2ERedialOtherAddress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{duration: 5 * time.Minute, linkAddrs: true})
	w.upAndIn(e2eSecret)
	first := w.waitDialer(5 * time.Second)
	w.setLinkAddr("10.64.0.3")
	hungUp := time.Now()
	must(t, syscall.Kill(first, syscall.SIGUSR1))
	if !w.agent.log.wait(ctxFor(t, 2*time.Minute), "link redialed", 1) {
		t.Fatal("the link was not redialed")
	}
	t.Logf("the tunnel answered the self-check %v after the hang-up (another address, ClientAlive 2s x 2)", time.Since(hungUp).Round(time.Millisecond))
	for _, want := range []string{"the new link has another address", "forward refused, retrying"} {
		if w.agent.log.count(want) == 0 {
			t.Errorf("the agent did not log %q", want)
		}
	}
	jlog := w.jump.LogTail(400)
	for _, want := range []string{"Address already in use", "Timeout, client not responding", "Connection from 10.64.0.3 "} {
		if !strings.Contains(jlog, want) {
			t.Errorf("the jump host did not log %q", want)
		}
	}
	w.assertOwnerGetsIn(30*time.Second, remotePort)
	w.assertRedialed("10.64.0.3", 1)
	w.down(1)
	w.assertClean()
}
