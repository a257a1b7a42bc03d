package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/totp"
	"github.com/oobd/oobd/oob/trigger"
)

// End to end over a real pty: the modem simulator, the modem package, and
// the agent's config, trigger, audit log, state and poller as `oobd run`
// wires them.

const (
	e2eOwner  = "+46701234567"
	e2eSecret = "Open-Sesame-42"
	e2eTOTP   = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// notifyingAudit passes records on to the real log and signals each one.
type notifyingAudit struct {
	log  *audit.Log
	recs chan audit.Record
}

func (n *notifyingAudit) Write(r audit.Record) error {
	err := n.log.Write(r)
	n.recs <- r
	return err
}

type handler struct {
	got   chan trigger.Request
	reply string
}

func (h *handler) Handle(ctx context.Context, req trigger.Request) inbox.Reply {
	h.got <- req
	if req.Verb == trigger.VerbStatus {
		return inbox.Reply{Text: h.reply}
	}
	return inbox.Reply{}
}

type e2e struct {
	t         *testing.T
	ctx       context.Context
	dir       string
	cfg       *config.Config
	simulator *modemsim.Simulator
	modem     *modem.Modem
	poller    *inbox.Poller
	audit     *notifyingAudit
	handler   *handler
	logs      *syncBuffer
	key       []byte
}

func newE2E(t *testing.T, urc bool, schedule string, simOpts ...modemsim.Option) *e2e {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e := &e2e{t: t, ctx: ctx, dir: t.TempDir(), logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// A real config file with real secret files.
	stateDir := filepath.Join(e.dir, "state")
	os.Mkdir(stateDir, 0o700)
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("secret", e2eSecret+"\n", 0o600)
	write("totp", e2eTOTP+"\n", 0o600)
	write("id", "key\n", 0o600)
	write("known_hosts", "jump ssh-ed25519 AAAA\n", 0o644)
	cfgText := strings.NewReplacer("DIR", e.dir, "URC", map[bool]string{true: "true", false: "false"}[urc], "SCHEDULE", schedule).Replace(`state_dir: DIR/state
modem:
  port: /dev/null
trigger:
  schedule: "SCHEDULE"
  urc: URC
  senders: ["+46701234567"]
  secret_file: DIR/secret
  totp_secret_file: DIR/totp
tunnel:
  jump_host: jump.example.net
  identity_file: DIR/id
  known_hosts: DIR/known_hosts
  forwards:
    - remote: localhost:31337
      local: localhost:22
`)
	cfg, err := config.Load(write("oobd.yaml", cfgText, 0o600))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	e.cfg, e.key = cfg, cfg.Secrets.TOTPKey

	simulator, err := modemsim.New(append([]modemsim.Option{modemsim.WithBootQuiet(50 * time.Millisecond), modemsim.WithLogger(logger)}, simOpts...)...)
	if err != nil {
		t.Fatalf("modemsim: %v", err)
	}
	t.Cleanup(func() { simulator.Close() })
	e.simulator = simulator
	m, err := modem.Open(ctx, simulator.Path(), modem.WithCommandTimeout(3*time.Second),
		modem.WithIndications(cfg.Trigger.URC), modem.WithLogger(logger))
	if err != nil {
		t.Fatalf("modem.Open: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	e.modem = m

	store, err := state.Open(cfg.StateDir, state.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alog.Close() })
	e.audit = &notifyingAudit{log: alog, recs: make(chan audit.Record, 32)}
	trig, err := trigger.New(cfg.TriggerSettings(), store, trigger.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	e.handler = &handler{got: make(chan trigger.Request, 8), reply: "oobd: no session. signal ok"}
	opts := []inbox.Option{inbox.WithSchedule(cfg.Trigger.Schedule), inbox.WithLogger(logger),
		inbox.WithIncompleteWait(time.Nanosecond)}
	if cfg.Trigger.URC {
		opts = append(opts, inbox.WithIndications(true))
	}
	p, err := inbox.New(m, trig, e.audit, store, e.handler, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	e.poller = p
	return e
}

// text is a valid trigger text for a message stamped at scts.
func (e *e2e) text(scts time.Time, verb string) string {
	return strings.TrimSpace(e2eSecret + " " + totp.Code(e.key, scts, totp.Digits) + " " + verb)
}

func (e *e2e) deliver(from, text string, opts ...modemsim.DeliverOption) {
	e.t.Helper()
	if _, err := e.simulator.Deliver(from, text, opts...); err != nil {
		e.t.Fatalf("Deliver: %v", err)
	}
}

func (e *e2e) waitRequest() trigger.Request {
	e.t.Helper()
	select {
	case r := <-e.handler.got:
		return r
	case <-e.ctx.Done():
		e.t.Fatal("no request reached the handler")
	}
	return trigger.Request{}
}

func (e *e2e) waitAudit() audit.Record {
	e.t.Helper()
	select {
	case r := <-e.audit.recs:
		return r
	case <-e.ctx.Done():
		e.t.Fatal("no audit record")
	}
	return audit.Record{}
}

// assertNoSecret searches every file the agent wrote and its logs.
func (e *e2e) assertNoSecret() {
	e.t.Helper()
	err := filepath.WalkDir(e.cfg.StateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(e2eSecret)) || bytes.Contains(b, []byte(e2eTOTP)) {
			e.t.Errorf("%s holds the secret:\n%s", path, b)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if logs := e.logs.String(); strings.Contains(logs, e2eSecret) || strings.Contains(logs, e2eTOTP) {
		e.t.Errorf("the logs hold the secret:\n%s", logs)
	}
	if e.logs.String() == "" {
		e.t.Error("nothing was logged: the search proves nothing")
	}
}

// With +CMTI, a text is decided on the indication, long before the next
// scheduled poll (an hour away).
func TestE2EIndication(t *testing.T) {
	e := newE2E(t, true, "@every 1h")
	scts := time.Now()
	e.deliver(e2eOwner, e.text(scts, "status"), modemsim.WithSCTS(scts))
	req := e.waitRequest()
	if req.Verb != trigger.VerbStatus || req.Sender != e2eOwner {
		t.Fatalf("request %+v", req)
	}
	rec := e.waitAudit()
	if rec.Verdict != "accepted" || rec.Text != "<secret> <code> status" {
		t.Errorf("audit %+v", rec)
	}
	sent, err := e.simulator.WaitSent(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].To != e2eOwner || sent[0].Text != e.handler.reply {
		t.Errorf("reply %+v", sent[0])
	}
	if s := e.simulator.Stored(); len(s) != 0 {
		t.Errorf("still stored: %v", s)
	}
	// The same text again is a replay: audited, deleted, not handled.
	e.deliver(e2eOwner, e.text(scts, "up"), modemsim.WithSCTS(scts.Add(time.Second)))
	if rec := e.waitAudit(); rec.Verdict != "replay" {
		t.Errorf("second use of a code: %+v", rec)
	}
	st, _ := state.Read(e.cfg.StateDir)
	if st.Trigger.LastStep != totp.Counter(scts) || st.LastPoll.IsZero() || !st.Modem.OK {
		t.Errorf("state: %+v", st)
	}
	select {
	case r := <-e.handler.got:
		t.Errorf("replay handled: %+v", r)
	default:
	}
	e.assertNoSecret()
}

// Without indications the next poll reads it.
func TestE2EPoll(t *testing.T) {
	e := newE2E(t, false, "@every 1s")
	scts := time.Now()
	e.deliver(e2eOwner, e.text(scts, "up 45m"), modemsim.WithSCTS(scts))
	req := e.waitRequest()
	if req.Verb != trigger.VerbUp || req.Duration != 45*time.Minute {
		t.Fatalf("request %+v", req)
	}
	if s := e.simulator.Stored(); len(s) != 0 {
		t.Errorf("still stored: %v", s)
	}
	e.assertNoSecret()
}

// Garbage, binary, alphanumeric and unknown senders, a wrong secret and an
// incomplete set are all audited and deleted; nothing is handled, nobody
// gets a reply; then a valid text still works.
func TestE2EJunk(t *testing.T) {
	e := newE2E(t, true, "@every 1h")
	now := time.Now()
	e.deliver("+15550001111", e.text(now, "up"), modemsim.WithSCTS(now))
	e.deliver("BANK", "Your code is 1234", modemsim.WithSCTS(now))
	if _, err := e.simulator.DeliverData(e2eOwner, []byte{0x00, 0xff, 0x13, 0x37}, modemsim.WithSCTS(now)); err != nil {
		t.Fatal(err)
	}
	e.deliver(e2eOwner, "\x1b\x00 garbage ¤¤ "+strings.Repeat("z", 30), modemsim.WithSCTS(now))
	e.deliver(e2eOwner, e2eSecret+" 000000 up", modemsim.WithSCTS(now))
	e.deliver(e2eOwner, "Guess 123456 up", modemsim.WithSCTS(now))
	e.deliver(e2eOwner, e.text(now, "up")+" "+strings.Repeat("x", 200), modemsim.WithSCTS(now), modemsim.WithoutParts(2))

	verdicts := map[string]int{}
	for range 6 {
		verdicts[e.waitAudit().Verdict]++
	}
	// The incomplete set waits for one more poll.
	if err := e.poller.Poll(e.ctx); err != nil {
		t.Fatal(err)
	}
	verdicts[e.waitAudit().Verdict]++
	want := map[string]int{"unknown-sender": 2, "binary": 1, "malformed": 1, "bad-secret": 1, "bad-code": 1, "incomplete": 1}
	for v, n := range want {
		if verdicts[v] != n {
			t.Errorf("verdicts %v, want %v", verdicts, want)
			break
		}
	}
	if s := e.simulator.Stored(); len(s) != 0 {
		t.Errorf("still stored: %v", s)
	}
	// A valid text now: the handler sees only it, and only it is answered.
	e.deliver(e2eOwner, e.text(now.Add(30*time.Second), "status"), modemsim.WithSCTS(now.Add(30*time.Second)))
	if req := e.waitRequest(); req.Verb != trigger.VerbStatus {
		t.Errorf("request %+v", req)
	}
	sent, err := e.simulator.WaitSent(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0].Text != e.handler.reply {
		t.Errorf("sent %+v", sent)
	}
	e.assertNoSecret()
	b, _ := os.ReadFile(filepath.Join(e.cfg.StateDir, audit.FileName))
	t.Logf("audit.log:\n%s", b)
}

// No stranger can block the inbox: a 10-slot SIM full of strangers' parts
// of long texts that never complete, and the owner's up, which the network
// holds until a slot frees. The up reaches the handler within two polls.
func TestE2EStrangersCannotBlockTheInbox(t *testing.T) {
	e := newE2E(t, true, "@every 1h", modemsim.WithCapacity(10), modemsim.WithNetworkQueue())
	for i := 0; i < 10; i++ {
		// Part 1 of 2 only: they would wait for ever.
		e.deliver(fmt.Sprintf("+1555000%04d", i), strings.Repeat("spam ", 40), modemsim.WithoutParts(2))
	}
	if st := e.simulator.Status(); st.Used != 10 {
		t.Fatalf("%d slots used, want the SIM full", st.Used)
	}
	scts := time.Now()
	e.deliver(e2eOwner, e.text(scts, "up"), modemsim.WithSCTS(scts))
	if e.simulator.Queued() != 1 {
		t.Fatalf("the network holds %d parts, want the owner's text", e.simulator.Queued())
	}
	start := time.Now()
	if err := e.poller.Poll(e.ctx); err != nil { // the strangers' parts go; the text comes in
		t.Fatal(err)
	}
	if err := e.poller.Poll(e.ctx); err != nil { // the text is read (if the +CMTI did not already)
		t.Fatal(err)
	}
	select {
	case req := <-e.handler.got:
		if req.Verb != trigger.VerbUp {
			t.Fatalf("request %+v", req)
		}
		t.Logf("the owner's up reached the handler %v after the first poll", time.Since(start).Round(time.Millisecond))
	default:
		t.Fatal("the owner's up did not reach the handler within two polls")
	}
	strangers := 0
	for _, r := range drain(e.audit.recs) {
		if r.Verdict == "unknown-sender" {
			strangers++
		}
	}
	if strangers != 10 {
		t.Errorf("%d strangers' parts audited, want 10", strangers)
	}
}

func drain(c chan audit.Record) []audit.Record {
	var out []audit.Record
	for {
		select {
		case r := <-c:
			out = append(out, r)
		default:
			return out
		}
	}
}
