package trigger

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/totp"
)

const (
	owner   = "+46701234567"
	partner = "+46709999999"
	secret  = "Tr1gger-s3cret"
)

var (
	t0      = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	totpKey = []byte("12345678901234567890")
)

type fakeClock struct {
	now    time.Time
	synced bool
}

func (c *fakeClock) Now() time.Time     { return c.now }
func (c *fakeClock) Synchronized() bool { return c.synced }

type rig struct {
	t     *testing.T
	dir   string
	clock *fakeClock
	store *state.Store
	trig  *Trigger
	set   Settings
}

func newRig(t *testing.T, withTOTP bool) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), clock: &fakeClock{now: t0}}
	r.set = Settings{
		Secret:          []byte(secret),
		Allowlist:       []string{owner, partner},
		CountryCode:     "46",
		MaxFailures:     3,
		Lockout:         time.Hour,
		MaxAge:          15 * time.Minute,
		DefaultDuration: 30 * time.Minute,
		MaxDuration:     4 * time.Hour,
	}
	if withTOTP {
		r.set.TOTPKey = totpKey
	}
	r.restart()
	return r
}

// restart makes a new store and trigger from the same directory, as a
// restarted daemon would.
func (r *rig) restart() {
	r.t.Helper()
	st, err := state.Open(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	tr, err := New(r.set, st, WithClock(r.clock))
	if err != nil {
		r.t.Fatal(err)
	}
	r.store, r.trig = st, tr
}

func msg(from string, scts time.Time, text string) modem.Message {
	return modem.Message{Indexes: []int{1}, Sender: from, SenderTON: modem.TONInternational, SCTS: scts,
		Text: text, Encoding: modem.EncodingGSM7, Parts: 1, Have: 1, Complete: true}
}

func code(at time.Time) string { return totp.Code(totpKey, at, 6) }

func (r *rig) decide(m modem.Message) Decision {
	r.t.Helper()
	return r.trig.Decide(m, Context{})
}

func (r *rig) expect(m modem.Message, v Verdict) Decision {
	r.t.Helper()
	d := r.decide(m)
	if d.Verdict != v {
		r.t.Fatalf("%q from %s: verdict %s (%s), want %s", m.Text, m.Sender, d.Verdict, d.Reason, v)
	}
	for _, s := range []string{d.Reason, d.Text, d.Reply} {
		if strings.Contains(s, secret) {
			r.t.Fatalf("secret in decision: %+v", d)
		}
	}
	return d
}

func (r *rig) failures() int { return len(r.store.Snapshot().Trigger.Failures) }

func TestAccepted(t *testing.T) {
	r := newRig(t, false)
	tests := []struct {
		text string
		verb Verb
		dur  time.Duration
	}{
		{secret, VerbUp, 30 * time.Minute},
		{"  " + secret + "  UP 45m ", VerbUp, 45 * time.Minute},
		{secret + " up 9h", VerbUp, 4 * time.Hour},
		{secret + " extend 1h", VerbExtend, time.Hour},
		{secret + " Down", VerbDown, 0},
		{secret + " status", VerbStatus, 0},
		{secret + " kill", VerbKill, 0},
		{"kill", VerbKill, 0},
	}
	for i, tt := range tests {
		d := r.expect(msg(owner, t0.Add(time.Duration(i)*time.Second), tt.text), Accepted)
		if d.Request.Verb != tt.verb || d.Request.Duration != tt.dur || d.Request.Sender != owner || d.Reply != "" {
			t.Errorf("%q: %+v", tt.text, d)
		}
	}
	// A bare kill is not authenticated, so it does not move the trusted time.
	if got := r.store.Snapshot().Trigger.NewestSCTS; !got.Equal(t0.Add(6 * time.Second)) {
		t.Errorf("newest SCTS = %v", got)
	}
}

func TestSenderForms(t *testing.T) {
	r := newRig(t, false)
	for _, m := range []modem.Message{
		{Sender: "0701234567", SenderTON: modem.TONNational},
		{Sender: "0046701234567", SenderTON: modem.TONUnknown},
		{Sender: "46701234567", SenderTON: modem.TONInternational},
	} {
		mm := msg(m.Sender, t0, secret+" status")
		mm.SenderTON = m.SenderTON
		if d := r.expect(mm, Accepted); d.Sender != owner {
			t.Errorf("sender %q normalised to %q", m.Sender, d.Sender)
		}
	}
	r.set.CountryCode = ""
	r.restart()
	mm := msg("0701234567", t0, secret)
	mm.SenderTON = modem.TONNational
	r.expect(mm, UnknownSender)
}

func TestIgnoredKinds(t *testing.T) {
	r := newRig(t, false)
	alpha := msg("46701234567", t0, secret)
	alpha.SenderTON = modem.TONAlphanumeric
	bin := msg(owner, t0, "")
	bin.Encoding, bin.Data = modem.EncodingBinary, []byte{0xde, 0xad}
	part := msg(owner, t0, secret+" u")
	part.Parts, part.Have, part.Complete = 2, 1, false
	for _, tt := range []struct {
		m modem.Message
		v Verdict
	}{
		{msg("+15550001111", t0, secret), UnknownSender},
		{msg("+15550001111", t0, "kill"), UnknownSender},
		{alpha, UnknownSender},
		{bin, Binary},
		{part, Incomplete},
		{msg(owner, t0, "   "), Malformed},
		{msg(owner, t0, "hello, are you there?"), Malformed},
		{msg(owner, t0, "guess up 1h now"), Malformed},
		{msg(owner, t0, "guess\x1b up"), Malformed},
	} {
		d := r.expect(tt.m, tt.v)
		if d.Reply != "" || d.Request.Verb != "" {
			t.Errorf("%s: reply %q request %+v", tt.v, d.Reply, d.Request)
		}
	}
	if n := r.failures(); n != 0 {
		t.Errorf("%d failures counted for ignored messages", n)
	}
}

func TestBadRequest(t *testing.T) {
	r := newRig(t, false)
	for _, text := range []string{secret + " reboot", secret + " up soon", secret + " extend", secret + " status please"} {
		d := r.expect(msg(owner, t0, text), BadRequest)
		if !strings.Contains(d.Reply, "Use: SECRET [up") {
			t.Errorf("%q: reply %q lacks the grammar", text, d.Reply)
		}
	}
	if n := r.failures(); n != 0 {
		t.Errorf("bad requests counted: %d", n)
	}
}

func TestLockout(t *testing.T) {
	r := newRig(t, false)
	r.clock.synced = true // the lockout on a clock that is right; see TestLockoutWithoutAClock
	r.expect(msg(owner, t0, "wrong"), BadSecret)
	r.clock.now = t0.Add(time.Minute)
	r.expect(msg("+15550001111", t0, "wrong"), UnknownSender) // never counts
	r.expect(msg(partner, t0, "wrong up"), BadSecret)
	if d := r.decide(msg(owner, t0, "kill")); d.Verdict != Accepted {
		t.Fatalf("bare kill = %s", d.Verdict) // not a wrong secret
	}
	if n := r.failures(); n != 2 {
		t.Fatalf("failures = %d, want 2", n)
	}
	// The third failure (global count) starts the lockout.
	d := r.expect(msg(owner, t0, secret+"x"), BadSecret)
	if !strings.Contains(d.Reason, "lockout until") || d.Reply != "" {
		t.Errorf("third failure: %+v", d)
	}

	// A restart keeps it.
	r.restart()
	r.clock.now = t0.Add(30 * time.Minute)
	r.expect(msg(owner, t0.Add(30*time.Minute), secret), LockedOut)
	r.expect(msg(owner, t0.Add(30*time.Minute), secret+" status"), LockedOut)
	r.expect(msg(owner, t0.Add(30*time.Minute), "wrong"), LockedOut)
	if d := r.expect(msg(owner, t0.Add(30*time.Minute), "kill"), Accepted); d.Request.Verb != VerbKill {
		t.Errorf("bare kill in lockout: %+v", d)
	}
	if d := r.expect(msg(owner, t0.Add(30*time.Minute), secret+" kill"), Accepted); d.Request.Verb != VerbKill {
		t.Errorf("kill in lockout: %+v", d)
	}
	if n := r.failures(); n != 3 {
		t.Errorf("failures during lockout counted: %d", n)
	}
	st := r.store.Snapshot().Status(r.clock.now)
	if !st.Lockout.Active || st.Lockout.Until == nil || !st.Lockout.Until.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Errorf("status lockout = %+v", st.Lockout)
	}

	// It ends one lockout period after the failure that started it.
	r.clock.now = t0.Add(time.Minute + time.Hour)
	r.restart()
	r.expect(msg(owner, r.clock.now, secret), Accepted)
	if n := r.failures(); n != 0 {
		t.Errorf("old failures kept: %d", n)
	}
}

func TestLockoutPerSender(t *testing.T) {
	r := newRig(t, false)
	r.set.MaxFailures = 2
	r.restart()
	r.expect(msg(owner, t0, "wrong"), BadSecret)
	r.clock.now = t0.Add(61 * time.Minute) // the first failure leaves the window
	r.expect(msg(owner, t0, "wrong"), BadSecret)
	r.expect(msg(owner, r.clock.now, secret+" status"), Accepted)
	r.expect(msg(owner, r.clock.now, "wrong"), BadSecret)
	r.expect(msg(owner, r.clock.now, secret+" status"), LockedOut)
}

func TestLockoutClockJumpedBack(t *testing.T) {
	r := newRig(t, false)
	for range 3 {
		r.expect(msg(owner, t0, "wrong"), BadSecret)
	}
	// A reboot without RTC: the clock now reads a day earlier. The
	// lockout lasts at most one period from now, not a day and an hour.
	r.clock.now = t0.Add(-24 * time.Hour)
	r.restart()
	r.expect(msg(owner, t0, secret), LockedOut)
	r.clock.now = r.clock.now.Add(time.Hour)
	r.expect(msg(owner, t0, secret), Accepted)
}

func TestTOTP(t *testing.T) {
	r := newRig(t, true)
	scts := t0.Add(10 * time.Second)
	r.expect(msg(owner, scts, secret+" "+code(scts)+" status"), Accepted)

	// The same text again (a carrier duplicate, or a replay with a new
	// SCTS in the window): a replay, not counted.
	r.expect(msg(owner, scts.Add(20*time.Second), secret+" "+code(scts)+" status"), Replay)
	r.expect(msg(owner, scts, secret+" "+code(scts)+" up"), Replay)
	// A code from the step before the last accepted one is a replay too.
	r.expect(msg(owner, scts.Add(5*time.Second), secret+" "+code(scts.Add(-30*time.Second))+" status"), Replay)
	if n := r.failures(); n != 0 {
		t.Errorf("replays counted: %d", n)
	}

	// ±1 step of the SCTS is accepted (a slow phone, a slow network).
	next := scts.Add(60 * time.Second)
	r.expect(msg(owner, next, secret+" "+code(next.Add(-30*time.Second))+" status"), Accepted)
	later := next.Add(60 * time.Second)
	r.expect(msg(owner, later, secret+" "+code(later.Add(30*time.Second))+" status"), Accepted)

	// The ledger survives a restart.
	r.restart()
	r.expect(msg(owner, later, secret+" "+code(later.Add(30*time.Second))+" status"), Replay)

	// Wrong codes count: two steps off, missing, garbage.
	far := later.Add(10 * time.Minute)
	r.expect(msg(owner, far, secret+" "+code(far.Add(-time.Minute))+" up"), BadCode)
	r.expect(msg(owner, far, secret+" up"), BadCode)
	r.expect(msg(owner, far, secret+" 000000 up"), BadCode)
	if n := r.failures(); n != 3 {
		t.Errorf("bad codes counted %d, want 3", n)
	}
	// The code is checked against the SCTS, not the local clock.
	r.clock.now = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	r.restart()
	r.expect(msg(owner, far, secret+" "+code(far)+" up"), LockedOut)
}

func TestTOTPNotAgainstLocalClock(t *testing.T) {
	r := newRig(t, true)
	r.clock.now = time.Date(1970, 1, 1, 0, 5, 0, 0, time.UTC) // no RTC, no NTP
	scts := t0
	r.expect(msg(owner, scts, secret+" "+code(scts)), Accepted)
}

func TestStale(t *testing.T) {
	r := newRig(t, false)
	// Nothing trusted yet (clock not synchronised): an old text is taken.
	r.clock.now = t0.Add(5 * time.Hour)
	r.expect(msg(owner, t0, secret+" status"), Accepted)
	// A newer accepted text moves the trusted time; older ones go stale.
	r.expect(msg(owner, t0.Add(time.Hour), secret+" status"), Accepted)
	r.restart()
	d := r.expect(msg(owner, t0.Add(40*time.Minute), secret+" up"), Stale)
	if d.Reply != "" {
		t.Errorf("stale got a reply: %q", d.Reply)
	}
	r.expect(msg(owner, t0.Add(46*time.Minute), secret+" up"), Accepted)
	// Stale texts never count, even with a wrong secret.
	r.expect(msg(owner, t0, "wrong"), Stale)
	if n := r.failures(); n != 0 {
		t.Errorf("stale counted: %d", n)
	}
	// Far-future timestamps from strangers or failed texts do not move it.
	future := t0.Add(48 * time.Hour)
	r.expect(msg("+15550001111", future, secret), UnknownSender)
	r.expect(msg(owner, future, "wrong"), BadSecret)
	r.expect(msg(owner, t0.Add(time.Hour), secret+" status"), Accepted)

	// A synchronised local clock is trusted too.
	r2 := newRig(t, false)
	r2.clock.now, r2.clock.synced = t0.Add(20*time.Minute), true
	r2.expect(msg(owner, t0, secret), Stale)
	r2.expect(msg(owner, t0.Add(6*time.Minute), secret), Accepted)
	// Unsynchronised, the same clock is not.
	r3 := newRig(t, false)
	r3.clock.now = t0.Add(20 * time.Minute)
	r3.expect(msg(owner, t0, secret), Accepted)
}

func TestSuperseded(t *testing.T) {
	r := newRig(t, false)
	ended := t0.Add(30 * time.Minute)
	c := Context{SessionEnded: ended}
	for _, text := range []string{secret + " up", secret, secret + " extend 1h", secret + " down"} {
		d := r.trig.Decide(msg(owner, t0.Add(10*time.Minute), text), c)
		if d.Verdict != Superseded || d.Reply == "" || strings.Contains(d.Reply, secret) {
			t.Errorf("%q: %+v", text, d)
		}
	}
	if d := r.trig.Decide(msg(owner, t0.Add(10*time.Minute), secret+" status"), c); d.Verdict != Accepted {
		t.Errorf("status during the session: %s", d.Verdict)
	}
	if d := r.trig.Decide(msg(owner, ended.Add(time.Second), secret+" up"), c); d.Verdict != Accepted {
		t.Errorf("up after the session: %s", d.Verdict)
	}
}

func TestSecretEqual(t *testing.T) {
	want := digestOf([]byte(secret))
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{secret, true},
		{secret + "x", false},
		{secret[:len(secret)-1], false},
		{"", false},
		{strings.ToUpper(secret), false},
		{strings.Repeat("x", 10000), false},
	} {
		if got := secretEqual(tt.in, &want); got != tt.ok {
			t.Errorf("secretEqual(%q) = %v", tt.in, got)
		}
	}
}

// TestSecretEqualShape checks that secretEqual has no branch or early exit:
// it must hash the candidate and hand both digests to subtle.
func TestSecretEqualShape(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "secret.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "secretEqual" {
			fn = fd
		}
	}
	if fn == nil {
		t.Fatal("secretEqual not found")
	}
	returns, subtle := 0, false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.BranchStmt:
			t.Errorf("secretEqual has a branch at %T", n)
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				t.Errorf("secretEqual has a short-circuit %v", n.Op)
			}
		case *ast.ReturnStmt:
			returns++
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == "subtle" && n.Sel.Name == "ConstantTimeCompare" {
				subtle = true
			}
		}
		return true
	})
	if returns != 1 || !subtle {
		t.Errorf("secretEqual: %d returns, subtle.ConstantTimeCompare used: %v", returns, subtle)
	}
}

func BenchmarkSecretEqual(b *testing.B) {
	want := digestOf([]byte(secret))
	for _, in := range []string{secret, "x", strings.Repeat("y", len(secret))} {
		b.Run(strings.ReplaceAll(in, secret, "right"), func(b *testing.B) {
			for b.Loop() {
				secretEqual(in, &want)
			}
		})
	}
}

// memStore is a Store in memory (for fuzzing: no disk writes).
type memStore struct{ st state.State }

func (m *memStore) Update(fn func(*state.State)) error { fn(&m.st); return nil }
func (m *memStore) Snapshot() state.State              { return m.st }

// FuzzDecide feeds arbitrary texts through every check: nothing panics,
// only texts holding the secret (or a bare kill) are accepted, and no
// reply, reason or audit text ever holds the secret.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{secret, "kill", secret + " up 2h", "guess up", "hello there you", secret + " 123456 status", secret + " extend 100h", "\x00"} {
		f.Add(s, int64(0), false)
		f.Add(s, int64(3600), true)
	}
	f.Fuzz(func(t *testing.T, text string, offset int64, withTOTP bool) {
		set := Settings{Secret: []byte(secret), Allowlist: []string{owner}, MaxFailures: 3, Lockout: time.Hour,
			MaxAge: 15 * time.Minute, DefaultDuration: 30 * time.Minute, MaxDuration: 4 * time.Hour}
		if withTOTP {
			set.TOTPKey = totpKey
		}
		tr, err := New(set, &memStore{}, WithClock(&fakeClock{now: t0}))
		if err != nil {
			t.Fatal(err)
		}
		scts := t0.Add(time.Duration(offset%100000) * time.Second)
		d := tr.Decide(msg(owner, scts, text), Context{})
		if d.Verdict == Accepted && !strings.Contains(text, secret) && d.Request.Verb != VerbKill {
			t.Fatalf("%q accepted", text)
		}
		for _, s := range []string{d.Reason, d.Text, d.Reply} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q: secret in %q", text, s)
			}
		}
	})
}

// Without a synchronised clock, and no text accepted since a restart, the
// rest of a lockout runs on the monotonic clock from the restart: the box
// cannot know how long it was down, and a lockout never ends early
// because the clock is unknown.
func TestLockoutWithoutAClock(t *testing.T) {
	r := newRig(t, false)
	r.expect(msg(owner, t0, secret+" status"), Accepted) // trusted: t0, from its SCTS
	r.clock.now = t0.Add(10 * time.Minute)
	for i := 0; i < 3; i++ {
		r.expect(msg(owner, t0.Add(10*time.Minute), "wrong"), BadSecret)
	}
	// Half an hour of the lockout passes (a text during it keeps the
	// ledger's trusted time current), then the box is down for a day and
	// its clock comes back wrong (a Pi without RTC).
	r.clock.now = t0.Add(40 * time.Minute)
	r.expect(msg(owner, t0.Add(40*time.Minute), secret), LockedOut)
	r.clock.now = t0.Add(-365 * 24 * time.Hour)
	r.restart()
	// The rest, 30 minutes, runs from the restart.
	r.clock.now = r.clock.now.Add(29 * time.Minute)
	r.expect(msg(owner, t0.Add(24*time.Hour), secret), LockedOut)
	r.clock.now = r.clock.now.Add(2 * time.Minute)
	r.expect(msg(owner, t0.Add(24*time.Hour), secret+" status"), Accepted)
}

// One faulty far-future timestamp cannot make every later text stale: an
// accepted SCTS moves the trusted time at most max_age beyond a
// synchronised clock.
func TestFarFutureSCTSIsCapped(t *testing.T) {
	r := newRig(t, false)
	r.clock.synced = true
	r.expect(msg(owner, t0.Add(30*24*time.Hour), secret+" status"), Accepted)
	r.clock.now = t0.Add(time.Minute)
	r.expect(msg(owner, t0.Add(time.Minute), secret+" status"), Accepted)
}

// Superseded is decided on the trusted scale: a session end given by
// Now() compares with the SCTS of the texts, not with the local clock.
func TestNowIsTheTrustedTime(t *testing.T) {
	r := newRig(t, false)
	r.clock.now = t0.Add(-10 * 365 * 24 * time.Hour) // a clock stuck in the past, not synchronised
	r.expect(msg(owner, t0, secret+" status"), Accepted)
	r.clock.now = r.clock.now.Add(time.Hour)
	if got := r.trig.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("Now = %v, want %v (the SCTS plus the hour since)", got, t0.Add(time.Hour))
	}
	d := r.trig.Decide(msg(owner, t0.Add(50*time.Minute), secret+" up"), Context{SessionEnded: r.trig.Now()})
	if d.Verdict != Superseded {
		t.Errorf("an up stamped before the session ended: %s (%s)", d.Verdict, d.Reason)
	}
}

// A secret file loosened after start-up refuses the texts that need it
// (never counted towards lockout), and the owner hears of it once.
func TestUnsafeSecretFileRefusesTexts(t *testing.T) {
	r := newRig(t, false)
	file := filepath.Join(r.dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var told []error
	r.set.SecretFile = file
	r.set.Unsafe = func(err error) { told = append(told, err) }
	r.restart()
	r.expect(msg(owner, t0, secret+" status"), Accepted)

	os.Chmod(file, 0o644)
	for i := 0; i < 6; i++ { // more than max_failures
		d := r.expect(msg(owner, t0, secret+" status"), UnsafeSecret)
		if !strings.Contains(d.Reason, "mode 0644") {
			t.Errorf("reason %q", d.Reason)
		}
	}
	if n := r.failures(); n != 0 || len(told) != 1 {
		t.Errorf("%d failures counted, owner told %d times; want none and once", n, len(told))
	}
	// Fixed, and the secret changed meanwhile: the new one counts at once.
	os.WriteFile(file, []byte("N3w-s3cret-word\n"), 0o600)
	os.Chmod(file, 0o600)
	r.expect(msg(owner, t0, secret+" status"), BadSecret)
	r.expect(msg(owner, t0, "N3w-s3cret-word status"), Accepted)
}
