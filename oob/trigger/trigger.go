// Package trigger decides what an SMS may do: the grammar
// `SECRET [CODE] [VERB [ARG]]`, the sender allowlist, the secret (compared
// in constant time), TOTP codes checked against the message's
// service-centre timestamp and used once, stale texts, and lockout after
// repeated failures. It is pure logic over an injected clock; what it must
// remember across restarts lives in the state store.
package trigger

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oobd/oobd/internal/secretfile"
	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/phone"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/totp"
)

// Verdict is the outcome for one message, as the audit log records it.
type Verdict string

// The verdicts.
const (
	Accepted      Verdict = "accepted"
	BadSecret     Verdict = "bad-secret"
	BadCode       Verdict = "bad-code"
	Replay        Verdict = "replay"
	Stale         Verdict = "stale"
	Superseded    Verdict = "superseded"
	UnknownSender Verdict = "unknown-sender"
	LockedOut     Verdict = "locked-out"
	BadRequest    Verdict = "bad-request"
	Malformed     Verdict = "malformed"
	Binary        Verdict = "binary"
	Incomplete    Verdict = "incomplete"
	// DrillLoop is a drill's own text come back to the SIM (drill.sms_loop).
	DrillLoop Verdict = "drill-loop"
	// UnsafeSecret is a text refused because a secret file it needs is
	// now readable or replaceable by others (or gone); it never counts
	// towards lockout.
	UnsafeSecret Verdict = "unsafe-secret-file"
	// Evicted is an incomplete set deleted to make room: incomplete sets
	// may hold at most half the SIM's storage.
	Evicted Verdict = "evicted"
)

// Decision is what to do with one message.
type Decision struct {
	Verdict Verdict
	// Sender is the E.164 form when the sender normalised, else the
	// address as received.
	Sender string
	SCTS   time.Time
	// Request is set (Verb non-empty) for accepted and superseded texts,
	// and for bad requests as far as the verb was understood.
	Request Request
	// Reason says why, for the audit log; never secret material.
	Reason string
	// Text is the message redacted for the audit log.
	Text string
	// Reply is an SMS to send back to Sender, "" for none. Unknown and
	// failed senders never get one.
	Reply string
}

// Settings are the trigger's knobs, from the config.
type Settings struct {
	Secret          []byte
	TOTPKey         []byte // nil: TOTP off
	Allowlist       []string
	CountryCode     string
	MaxFailures     int
	Lockout         time.Duration
	MaxAge          time.Duration
	DefaultDuration time.Duration
	MaxDuration     time.Duration
	// SecretFile and TOTPFile, when set, are read again (and checked:
	// owner and mode) for every text from an allowed sender, so a secret
	// changed or a file loosened after start-up counts at once. Secret and
	// TOTPKey are what they held at start-up.
	SecretFile, TOTPFile string
	// Unsafe is told, once until the files are safe again, that a secret
	// file can no longer be trusted: texts are refused meanwhile.
	Unsafe func(error)
}

// Store is where the trigger keeps its ledger (used codes, failures,
// lockout, newest SCTS); *state.Store satisfies it.
type Store interface {
	Update(func(*state.State)) error
	Snapshot() state.State
}

// Trigger decides messages. It is safe for concurrent use (the store
// serialises decisions).
type Trigger struct {
	secret  digest
	key     []byte
	allowed map[string]bool
	set     Settings
	store   Store
	clock   Clock
	logger  *slog.Logger
	trusted *trustedClock

	keysMu   sync.Mutex // guards secret, key and reported
	reported bool       // Unsafe was told and the files are not safe again yet

	mu sync.Mutex // guards deadline
	// deadline is the lockout's end on the local monotonic clock: the
	// lockout ends only when both it and the trusted time have passed, so
	// a clock that is unknown or jumps never ends one early.
	deadline time.Time
}

// Option configures a Trigger.
type Option func(*Trigger)

// WithClock sets the clock (tests; the default is the system's).
func WithClock(c Clock) Option { return func(t *Trigger) { t.clock = c } }

// WithLogger sets the logger (for state write failures only).
func WithLogger(l *slog.Logger) Option { return func(t *Trigger) { t.logger = l } }

// New makes a trigger.
func New(s Settings, store Store, opts ...Option) (*Trigger, error) {
	if len(s.Secret) == 0 {
		return nil, errors.New("trigger: no secret")
	}
	if s.MaxFailures <= 0 || s.Lockout <= 0 || s.MaxAge <= 0 {
		return nil, errors.New("trigger: max failures, lockout and max age must be positive")
	}
	t := &Trigger{
		secret:  digestOf(s.Secret),
		key:     s.TOTPKey,
		allowed: map[string]bool{},
		set:     s,
		store:   store,
		clock:   SystemClock{},
		logger:  slog.New(slog.DiscardHandler),
	}
	t.set.Secret = nil // only the digest is kept
	for _, a := range s.Allowlist {
		t.allowed[a] = true
	}
	for _, o := range opts {
		o(t)
	}
	t.trusted = &trustedClock{clock: t.clock, maxAge: s.MaxAge}
	led := store.Snapshot().Trigger
	saved := led.TrustedAt
	if led.NewestSCTS.After(saved) {
		saved = led.NewestSCTS
	}
	t.trusted.restore(saved)
	if !led.LockoutUntil.IsZero() {
		// The rest of the lockout runs on the monotonic clock from now.
		rest := min(max(led.LockoutUntil.Sub(saved), 0), s.Lockout)
		if saved.IsZero() {
			rest = s.Lockout
		}
		t.deadline = t.clock.Now().Add(rest)
	}
	return t, nil
}

// Now is the trusted time (see Decide), or the local clock when nothing is
// trusted yet: the scale on which a session's end is compared with the
// texts' timestamps.
func (t *Trigger) Now() time.Time { return t.trusted.orLocal() }

// Lockout reports whether a lockout is in force, and until when on the
// trusted time's scale.
func (t *Trigger) Lockout() (bool, time.Time) {
	led := t.store.Snapshot().Trigger
	return t.lockedOut(&led, t.trusted.orLocal()), led.LockoutUntil
}

func (t *Trigger) lockedOut(led *state.Trigger, now time.Time) bool {
	if led.LockoutUntil.IsZero() {
		return false
	}
	if now.Before(led.LockoutUntil) {
		return true
	}
	if t.clock.Synchronized() {
		return false // the trusted time is the real time
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clock.Now().Before(t.deadline)
}

// Context is what the caller knows that a message does not say.
type Context struct {
	// SessionEnded is when the last session on a single-port modem ended
	// (texts could not be read during it). An up, extend or down stamped
	// before it is superseded. Zero: no such session.
	SessionEnded time.Time
}

// Decide decides one message and records what must be remembered. The
// sender is checked first: a stranger's part of a long text is told apart
// at once (and deleted), only the owner's waits for its other parts.
func (t *Trigger) Decide(msg modem.Message, c Context) Decision {
	d := Decision{Sender: msg.Sender, SCTS: msg.SCTS}
	sender, ok := phone.Normalize(msg.Sender, msg.SenderTON, t.set.CountryCode)
	if ok {
		d.Sender = sender
	}
	if !ok || !t.allowed[sender] {
		d.Verdict, d.Text = UnknownSender, shape(msg.Text)
		switch {
		case msg.SenderTON == modem.TONAlphanumeric:
			d.Reason = "alphanumeric sender"
		case !ok:
			d.Reason = "sender number not comparable (national number without trigger.country_code?)"
		default:
			d.Reason = "not in trigger.senders"
		}
		if msg.Encoding == modem.EncodingBinary {
			d.Text = ""
		}
		return d
	}
	switch {
	case msg.Encoding == modem.EncodingBinary:
		d.Verdict, d.Reason = Binary, fmt.Sprintf("8-bit data, %d bytes", len(msg.Data))
		if msg.Problem != "" {
			d.Reason = msg.Problem
		}
		return d
	case !msg.Complete:
		d.Verdict, d.Reason = Incomplete, fmt.Sprintf("%d of %d parts arrived", msg.Have, msg.Parts)
		d.Text = shape(msg.Text)
		return d
	}
	_, key := t.keys()
	f, ok := Split(msg.Text, key != nil)
	if !ok {
		d.Verdict, d.Reason = Malformed, "empty text"
		return d
	}
	d.Text = Redact(f)
	if err := t.reload(); err != nil {
		d.Verdict, d.Reason = UnsafeSecret, err.Error()
		return d
	}
	err := t.store.Update(func(st *state.State) {
		d = t.decide(&st.Trigger, d, f, c)
		if d.Verdict == Accepted {
			t.trusted.accepted(d.SCTS)
		}
		st.Trigger.TrustedAt, _ = t.trusted.now()
	})
	if err != nil {
		t.logger.Error("trigger: ledger not saved; it holds in memory until the next write", "err", err)
	}
	return d
}

// decide runs the checks that need the ledger, in the order that keeps
// every failure mode from counting where the spec says it must not.
func (t *Trigger) decide(led *state.Trigger, d Decision, f Fields, c Context) Decision {
	// The trusted time: the synchronised clock, or the newest accepted SCTS
	// (or what a run before the restart trusted) plus the monotonic time
	// since. The lockout's window runs on it too (on the local clock until
	// anything is trusted).
	trusted, known := t.trusted.now()
	now := t.trusted.orLocal()
	t.expire(led, now)

	// Stale: older than max_age before the newest trusted time. Never
	// counts, even with a wrong secret.
	if known && d.SCTS.Before(trusted.Add(-t.set.MaxAge)) {
		d.Verdict = Stale
		d.Reason = fmt.Sprintf("stamped %v before the newest trusted time (max age %v)", trusted.Sub(d.SCTS).Round(time.Second), t.set.MaxAge)
		return d
	}

	// A bare "kill" needs no secret; during a lockout any text whose verb
	// is kill is let through (it can only take the link down).
	if f.BareKill {
		d.Verdict, d.Request, d.Reason = Accepted, t.request(Request{Verb: VerbKill}, d), "bare kill"
		return d
	}
	if t.lockedOut(led, now) {
		if len(f.Rest) > 0 && Verb(lower(f.Rest[len(f.Rest)-1])) == VerbKill {
			d.Verdict, d.Request, d.Reason = Accepted, t.request(Request{Verb: VerbKill}, d), "kill during lockout"
			return d
		}
		d.Verdict = LockedOut
		d.Reason = "locked out until " + led.LockoutUntil.UTC().Format(time.RFC3339)
		return d
	}

	secret, key := t.keys()
	if !secretEqual(f.Secret, &secret) {
		// Garbage never counts (spec: "unknown senders, garbage and
		// binary messages … never count"): only a text shaped like a
		// trigger is a wrong guess.
		if why := implausible(f, key != nil); why != "" {
			d.Verdict, d.Reason = Malformed, "not a trigger: "+why
			return d
		}
		return t.fail(led, d, BadSecret, "wrong secret", now)
	}
	var step int64
	if key != nil {
		if f.Code == "" {
			return t.fail(led, d, BadCode, "code missing", now)
		}
		steps := totp.Match(key, f.Code, d.SCTS, 1)
		if len(steps) == 0 {
			return t.fail(led, d, BadCode, "code does not match the message time", now)
		}
		for _, s := range steps {
			if s > led.LastStep {
				step = s
				break
			}
		}
		if step == 0 {
			d.Verdict, d.Reason = Replay, "code for an already used time step"
			return d
		}
	}

	req, err := ParseRequest(f.Rest, t.set.DefaultDuration, t.set.MaxDuration)
	d.Request = t.request(req, d)
	if err != nil {
		d.Verdict, d.Reason = BadRequest, err.Error()
		d.Reply = "oobd: " + err.Error() + ". " + Usage(key != nil)
		return d
	}

	// Authentic from here: the code's step is used and the SCTS trusted.
	if step > led.LastStep {
		led.LastStep = step
	}
	if d.SCTS.After(led.NewestSCTS) {
		led.NewestSCTS = d.SCTS
	}
	if !c.SessionEnded.IsZero() && d.SCTS.Before(c.SessionEnded) {
		switch req.Verb {
		case VerbUp, VerbExtend, VerbDown:
			d.Verdict = Superseded
			d.Reason = "stamped before the last session ended " + c.SessionEnded.UTC().Format(time.RFC3339)
			d.Reply = fmt.Sprintf("oobd: your %q from %s arrived after that session had ended; ignored. Text again if needed.",
				string(req.Verb), d.SCTS.UTC().Format("15:04 UTC"))
			return d
		}
	}
	d.Verdict = Accepted
	if req.Capped {
		d.Reason = fmt.Sprintf("duration capped at %v", t.set.MaxDuration)
	}
	return d
}

func (t *Trigger) request(r Request, d Decision) Request {
	r.Sender, r.SCTS = d.Sender, d.SCTS
	return r
}

// fail counts a wrong secret or code, and starts the lockout at the
// max_failures-th failure within the window, per sender or overall.
func (t *Trigger) fail(led *state.Trigger, d Decision, v Verdict, why string, now time.Time) Decision {
	led.Failures = append(led.Failures, state.TriggerFailure{Time: now, Sender: d.Sender})
	global, mine := len(led.Failures), 0
	for _, f := range led.Failures {
		if f.Sender == d.Sender {
			mine++
		}
	}
	d.Verdict = v
	d.Reason = fmt.Sprintf("%s (failure %d of %d for this sender, %d of %d overall)", why, mine, t.set.MaxFailures, global, t.set.MaxFailures)
	if mine >= t.set.MaxFailures || global >= t.set.MaxFailures {
		led.LockoutStart, led.LockoutUntil = now, now.Add(t.set.Lockout)
		t.mu.Lock()
		t.deadline = t.clock.Now().Add(t.set.Lockout)
		t.mu.Unlock()
		d.Reason += "; lockout until " + led.LockoutUntil.UTC().Format(time.RFC3339)
	}
	return d
}

// expire drops failures outside the window and ends a finished lockout:
// one whose end has passed on the trusted time and on the monotonic clock.
// A time ahead of now (an earlier run's scale) is pulled back to now, so
// nothing is locked for longer than one lockout period.
func (t *Trigger) expire(led *state.Trigger, now time.Time) {
	if led.LockoutUntil.After(now.Add(t.set.Lockout)) {
		led.LockoutUntil = now.Add(t.set.Lockout)
	}
	if !led.LockoutUntil.IsZero() && !t.lockedOut(led, now) {
		led.LockoutUntil, led.LockoutStart = time.Time{}, time.Time{}
	}
	kept := led.Failures[:0]
	for _, f := range led.Failures {
		if f.Time.After(now) {
			f.Time = now
		}
		if now.Sub(f.Time) < t.set.Lockout {
			kept = append(kept, f)
		}
	}
	led.Failures = kept
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// keys are the secret's digest and the TOTP key as last read.
func (t *Trigger) keys() (digest, []byte) {
	t.keysMu.Lock()
	defer t.keysMu.Unlock()
	return t.secret, t.key
}

// reload reads the secret files again, checking their owner and mode on
// the opened file. A file that cannot be trusted refuses the text; the
// owner hears of it once.
func (t *Trigger) reload() error {
	if t.set.SecretFile == "" && t.set.TOTPFile == "" {
		return nil
	}
	var secret []byte
	var key []byte
	err := func() error {
		if t.set.SecretFile != "" {
			b, err := secretfile.Read(t.set.SecretFile)
			if err != nil {
				return fmt.Errorf("trigger.secret_file: %w", err)
			}
			secret = bytes.TrimSpace(b)
			if len(secret) == 0 {
				return fmt.Errorf("trigger.secret_file %s: empty", t.set.SecretFile)
			}
		}
		if t.set.TOTPFile != "" {
			b, err := secretfile.Read(t.set.TOTPFile)
			if err != nil {
				return fmt.Errorf("trigger.totp_secret_file: %w", err)
			}
			if key, err = totp.Decode(string(bytes.TrimSpace(b))); err != nil {
				return fmt.Errorf("trigger.totp_secret_file %s: %w", t.set.TOTPFile, err)
			}
		}
		return nil
	}()
	t.keysMu.Lock()
	defer t.keysMu.Unlock()
	if err != nil {
		if !t.reported {
			t.reported = true
			t.logger.Error("trigger: a secret file can no longer be trusted; texts are refused until it is fixed", "err", err)
			if t.set.Unsafe != nil {
				t.set.Unsafe(err)
			}
		}
		return err
	}
	t.reported = false
	if secret != nil {
		t.secret = digestOf(secret)
	}
	if key != nil {
		t.key = key
	}
	return nil
}
