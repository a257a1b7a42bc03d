package notify

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// Message is one notice in its two forms: a push (title and a body of a
// few lines) and one SMS (GSM-7 only, at most 160 septets).
type Message struct {
	Title    string
	Push     string
	SMS      string
	Priority int // Pushover priority: -1 low (drills), 0 normal, 1 high (failures)
}

// Push priorities (Pushover's scale; 2, emergency, is never used).
const (
	PriorityQuiet  = -2 // delivered with no alert at all: a drill's proof of the push path
	PriorityLow    = -1
	PriorityNormal = 0
	PriorityHigh   = 1
)

// Up describes a session whose tunnel passed its self-check.
type Up struct {
	RequestedBy string    // E.164 number; "" is the local operator (`oobd up`)
	Drill       bool      // an end-to-end test rather than a request
	Started     time.Time // when the self-check passed
	Until       time.Time // the session's end
	JumpHost    string    // tunnel.jump_host, "host:port"
	Forwards    []tunnel.BoundForward
	Interface   string // "ppp0"
	LocalIP     string // the PPP address
	SignalDBm   int    // 0: unknown
	Operator    string
	LoginUser   string // the user in the ssh line; "" is root
}

// Failed describes an up that did not reach a passed self-check.
type Failed struct {
	RequestedBy string
	Drill       bool
	At          time.Time
	Step        string // where: "dial", "path", "tunnel", "selfcheck", …
	Reason      string // why: "no IPv4 on ppp0 after 60s", "host key changed", …
	Attempts    int    // tries made; 0 or 1 is not shown
}

// Down describes a session that is over and torn down.
type Down struct {
	RequestedBy string
	Drill       bool
	Started     time.Time // zero: the self-check never passed
	Ended       time.Time
	Bytes       uint64 // through the link, both ways
	Reason      string // why it ended: "time up", "down by +4670…", "budget reached (50MB)", …
}

// SIMChange describes a SIM whose ICCID or IMSI differs from the one the
// state file remembers.
type SIMChange struct {
	OldICCID, NewICCID string
	OldIMSI, NewIMSI   string
}

// Status is what a `status` SMS reports.
type Status struct {
	Now          time.Time
	State        string    // "idle", "dialing", "up", "teardown", …
	Until        time.Time // the session's end while one is on
	SignalDBm    int       // 0: unknown
	Registration string    // "home", "roaming", "searching", "denied", …
	Operator     string
	SIM          string    // PIN state: "ready", "pin-required", "puk-required", …
	SIMTries     int       // PIN tries left; -1 when not known
	StorageUsed  int       // SMS slots in use
	StorageTotal int       // 0: unknown
	LockoutUntil time.Time // zero: no lockout

	LastDrill       time.Time // zero: never
	LastDrillOK     bool
	LastFailure     time.Time // zero: none
	LastFailureStep string
	LastFailureWhy  string // e.g. "x3: no IP"
}

// Grammar is the reply to a right secret with a request oobd cannot read.
type Grammar struct {
	Problem     string // what was wrong, e.g. `unknown verb "upp"`; never the message itself
	TOTP        bool   // a code is required after the secret
	MaxDuration time.Duration
}

// UpMessage is the notice that the session is up and how to get in.
func UpMessage(u Up) Message {
	what := "UP"
	title := "oobd: link up"
	prio := PriorityNormal
	if u.Drill {
		what, title, prio = "drill UP", "oobd: drill up", PriorityLow
	}
	span := shortDuration(u.Until.Sub(u.Started))
	login := SSHLine(u.JumpHost, u.Forwards, u.LoginUser)

	var p strings.Builder
	fmt.Fprintf(&p, "Session up for %s, until %s, asked by %s.\n", span, clock(u.Until), who(u.RequestedBy))
	if login != "" {
		fmt.Fprintf(&p, "Log in: %s\n", login)
	}
	fmt.Fprintf(&p, "Jump host: %s\n", u.JumpHost)
	for _, f := range u.Forwards {
		fmt.Fprintf(&p, "Forward: %s -> %s\n", boundRemote(f), f.Local)
	}
	fmt.Fprintf(&p, "Link: %s %s, %s", orDash(u.Interface), orDash(u.LocalIP), signal(u.SignalDBm))
	if u.Operator != "" {
		fmt.Fprintf(&p, ", %s", u.Operator)
	}

	// The login line is what the owner needs: it goes with the first part,
	// which is always kept, and the header shrinks to make room for it.
	head := fmt.Sprintf("oobd %s %s, until %s", what, span, clockShort(u.Until))
	if login != "" {
		if n, _ := Septets(ToGSM7(head + "\n" + login)); n > SMSMaxSeptets {
			head = "oobd " + what
		}
		head += "\n" + login
	}
	parts := []string{head}
	parts = append(parts, strings.TrimSpace(orDash(u.Interface)+" "+u.LocalIP+" "+signal(u.SignalDBm)))
	for _, f := range u.Forwards {
		if f.Local != "" && port(f.Local) != "22" {
			parts = append(parts, fmt.Sprintf("jump:%d -> %s", effectivePort(f), f.Local))
		}
	}
	if u.RequestedBy != "" {
		parts = append(parts, "by "+u.RequestedBy)
	}
	return Message{Title: title, Push: p.String(), SMS: smsParts("\n", parts...), Priority: prio}
}

// FailedMessage is the notice that an up failed, and why.
func FailedMessage(f Failed) Message {
	title := "oobd: up failed"
	if f.Drill {
		title = "oobd: drill failed"
	}
	where := orDash(f.Step)
	if f.Attempts > 1 {
		where += fmt.Sprintf(" x%d", f.Attempts)
	}
	why := orDash(f.Reason)
	push := fmt.Sprintf("Up asked by %s at %s failed at %s: %s", who(f.RequestedBy), clock(f.At), where, why)
	sms := smsParts(" ", sentence(fmt.Sprintf("oobd: %s (%s): %s", strings.TrimPrefix(title, "oobd: "), where, why)), "At "+clockShort(f.At)+".")
	return Message{Title: title, Push: push, SMS: sms, Priority: PriorityHigh}
}

// DownMessage is the notice that the session is over: who asked, how long
// it lasted, the bytes it used and why it ended.
func DownMessage(d Down) Message {
	title := "oobd: link down"
	prio := PriorityNormal
	if d.Drill {
		title, prio = "oobd: drill down", PriorityLow
	}
	lasted := "never up"
	if !d.Started.IsZero() {
		lasted = "lasted " + shortDuration(d.Ended.Sub(d.Started))
	}
	why := orDash(d.Reason)
	push := fmt.Sprintf("Session asked by %s is down: %s.\nIt %s and used %s. Ended %s.", who(d.RequestedBy), why, lasted, Bytes(d.Bytes), clock(d.Ended))
	// How long and how much always fit: the reason is cut to leave room.
	usage := fmt.Sprintf("%s, %s used.", upperFirst(lasted), Bytes(d.Bytes))
	room, _ := Septets("oobd DOWN: . " + usage)
	sms := smsParts(" ",
		sentence("oobd DOWN: "+fitSeptets(ToGSM7(why), SMSMaxSeptets-room)),
		usage,
		"Asked by "+who(d.RequestedBy)+".")
	return Message{Title: title, Push: push, SMS: sms, Priority: prio}
}

// SIMChangedMessage is the notice that the modem holds another SIM.
func SIMChangedMessage(c SIMChange) Message {
	push := fmt.Sprintf("The modem holds another SIM.\nICCID %s -> %s\nIMSI %s -> %s\nTriggers must now be sent to the new SIM's number.",
		orNone(c.OldICCID), orNone(c.NewICCID), orNone(c.OldIMSI), orNone(c.NewIMSI))
	sms := smsParts(" ", "oobd: SIM changed.", "ICCID "+orNone(c.OldICCID)+" -> "+orNone(c.NewICCID)+".",
		"IMSI "+orNone(c.OldIMSI)+" -> "+orNone(c.NewIMSI)+".")
	return Message{Title: "oobd: SIM changed", Push: push, SMS: sms, Priority: PriorityHigh}
}

// WrongPINMessage is the notice that the SIM refused its PIN. oobd never
// retries it (the SIM would reach PUK); attemptsLeft < 0 means unknown.
func WrongPINMessage(attemptsLeft int) Message {
	left := "attempts left unknown"
	if attemptsLeft >= 0 {
		left = fmt.Sprintf("%d attempts left", attemptsLeft)
	}
	push := fmt.Sprintf("The SIM refused the PIN in modem.pin_file (%s). oobd will not retry it: fix the file and restart oobd, or unlock the SIM in a phone. Until then no text can reach oobd.", left)
	return Message{Title: "oobd: wrong SIM PIN", Push: push, SMS: FitSMS("oobd: wrong SIM PIN, " + left + ". Not retried."), Priority: PriorityHigh}
}

// UnsafeSecretMessage says that a secret file can no longer be trusted
// (readable or replaceable by others, or gone): texts are refused until
// it is fixed.
func UnsafeSecretMessage(err error) Message {
	push := "oobd refuses every text until this is fixed: " + err.Error() + ". Check who changed it; then chmod 600 and chown root the file."
	return Message{Title: "oobd: secret file unsafe", Push: push, SMS: FitSMS("oobd: a secret file is unsafe; texts refused until fixed."), Priority: PriorityHigh}
}

// StorageMessage is the warning that the SIM's message storage is nearly
// full: once it is, new texts (triggers) are refused by the network.
func StorageMessage(used, total int) Message {
	push := fmt.Sprintf("SMS storage is at %d of %d. Once it is full the SIM takes no new texts, so no trigger can reach oobd. Check `oobd sms list`, then `oobd sms delete --all`.", used, total)
	return Message{Title: "oobd: SIM storage nearly full", Push: push, SMS: FitSMS(fmt.Sprintf("oobd: SMS storage %d/%d, nearly full.", used, total)), Priority: PriorityHigh}
}

// StatusSMS is the reply to `status`: session state and end, signal,
// registration, operator, SIM PIN state, storage use, last drill and its
// age, last failure and why. Fields that do not fit are left out, the
// last failure's reason is cut instead.
func StatusSMS(s Status) string {
	state := "oobd " + orDash(s.State)
	if !s.Until.IsZero() {
		state += " until " + clockShort(s.Until)
		if left := s.Until.Sub(s.Now); left > 0 {
			state += " (" + shortDuration(left) + " left)"
		}
	}
	// What matters when nothing else works comes first; the fields are
	// cut from the end (the operator first) to fit one SMS.
	fail := "no failure"
	if !s.LastFailure.IsZero() {
		fail = "fail " + age(s.Now, s.LastFailure) + ": " + strings.TrimSpace(s.LastFailureStep+" "+s.LastFailureWhy)
	}
	fields := []string{state, fail}
	if !s.LockoutUntil.IsZero() && s.LockoutUntil.After(s.Now) {
		fields = append(fields, "LOCKOUT until "+clockShort(s.LockoutUntil))
	}
	if s.SIM != "" && s.SIM != "ready" {
		sim := "SIM " + s.SIM
		if s.SIMTries >= 0 {
			sim += fmt.Sprintf(", %d tries left", s.SIMTries)
		}
		fields = append(fields, sim)
	}
	drill := "drill never"
	if !s.LastDrill.IsZero() {
		res := "FAILED"
		if s.LastDrillOK {
			res = "ok"
		}
		drill = "drill " + res + " " + age(s.Now, s.LastDrill)
	}
	fields = append(fields, drill, signal(s.SignalDBm), orDash(s.Registration))
	if s.StorageTotal > 0 {
		fields = append(fields, fmt.Sprintf("SMS %d/%d", s.StorageUsed, s.StorageTotal))
	}
	if s.Operator != "" {
		fields = append(fields, s.Operator)
	}
	return fitFields("; ", fields)
}

// fitFields joins fields with sep into one GSM-7 SMS, leaving fields out
// from the end until it fits; when the first two alone are too long, the
// second is cut (with "...") rather than left out.
func fitFields(sep string, fields []string) string {
	for i := range fields {
		fields[i] = ToGSM7(fields[i])
	}
	for n := len(fields); n > 2; n-- {
		if out := strings.Join(fields[:n], sep); FitsSMS(out) {
			return out
		}
	}
	head := fitSeptets(fields[0], SMSMaxSeptets)
	if len(fields) == 1 {
		return head
	}
	return FitSMS(head + sep + fields[1])
}

// GrammarSMS is the reply to a right secret with an unknown verb or a bad
// duration: what was wrong and the grammar.
func GrammarSMS(g Grammar) string {
	code := ""
	if g.TOTP {
		code = " CODE"
	}
	limit := ""
	if g.MaxDuration > 0 {
		limit = " (max " + shortDuration(g.MaxDuration) + ")"
	}
	return smsParts(" ",
		"oobd: "+orDash(g.Problem)+".",
		"Send: SECRET"+code+" [up [45m] | down | extend 1h | status | kill]"+limit)
}

// SSHLine is the command that reaches the box through the forward to its
// SSH port (local port 22, else the first forward): `ssh -J jump -p PORT
// root@localhost`. The forward listens on the jump host, so the owner
// always comes in through it; "" when no forward has a known port.
func SSHLine(jumpHost string, forwards []tunnel.BoundForward, user string) string {
	if len(forwards) == 0 {
		return ""
	}
	f := forwards[0]
	for _, g := range forwards {
		if port(g.Local) == "22" {
			f = g
			break
		}
	}
	p := effectivePort(f)
	if p == 0 {
		return ""
	}
	if user == "" {
		user = "root"
	}
	jump := jumpHost
	if h, jp, err := net.SplitHostPort(jumpHost); err == nil {
		jump = h
		if jp != "22" && jp != "" {
			jump = net.JoinHostPort(h, jp)
		}
	}
	host, _, err := net.SplitHostPort(f.Remote)
	switch {
	case err != nil, host == "", host == "*", host == "0.0.0.0", host == "::", host == "localhost":
		host = "localhost" // a wildcard listens on the jump host's loopback too
	case strings.Contains(host, ":"):
		host = "[" + host + "]"
	}
	return fmt.Sprintf("ssh -J %s -p %d %s@%s", jump, p, user, host)
}

// effectivePort is the port the forward listens on: the bound one, else the
// configured one; 0 when neither is known.
func effectivePort(f tunnel.BoundForward) int {
	if f.BoundPort > 0 {
		return f.BoundPort
	}
	n, err := strconv.Atoi(port(f.Remote))
	if err != nil || n <= 0 || n > 65535 {
		return 0
	}
	return n
}

// boundRemote is the forward's remote address with the port it got, noting
// when the server chose it.
func boundRemote(f tunnel.BoundForward) string {
	host, p, err := net.SplitHostPort(f.Remote)
	if err != nil {
		return f.Remote
	}
	if f.BoundPort > 0 && strconv.Itoa(f.BoundPort) != p {
		return net.JoinHostPort(host, strconv.Itoa(f.BoundPort)) + " (asked " + p + ")"
	}
	return f.Remote
}

// smsParts joins parts with sep into one SMS: parts that would overflow are
// left out (the first is always kept, and cut if it alone is too long).
func smsParts(sep string, parts ...string) string {
	out := ""
	for i, p := range parts {
		p = ToGSM7(p)
		if i == 0 {
			out = fitSeptets(p, SMSMaxSeptets)
			continue
		}
		if n, _ := Septets(out + sep + p); n <= SMSMaxSeptets {
			out += sep + p
		}
	}
	return out
}

// Bytes formats a byte count in decimal units, as the config's sizes are.
func Bytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatUint(n, 10) + "B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	prec := 1
	if v >= 100 {
		prec = 0
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + string("kMGTP"[exp]) + "B"
}

// shortDuration formats d as "45s", "30m", "1h5m", "2d3h": precise enough
// for a notice, short enough for an SMS.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Round(time.Minute)/time.Minute)) + "m"
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + "h"
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	d = d.Round(time.Hour)
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return strconv.Itoa(days) + "d"
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// age is how long ago t was: "3h ago".
func age(now, t time.Time) string {
	if d := now.Sub(t); d >= 0 {
		return shortDuration(d) + " ago"
	}
	return "at " + clockShort(t) // the clock went back: say when, not how long
}

// clock is a full time for a push. The box may have no real-time clock,
// so every notice that names a time also says how long.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04 MST")
}

// clockShort is a time of day for an SMS.
func clockShort(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04 MST")
}

func signal(dbm int) string {
	if dbm == 0 {
		return "signal ?"
	}
	return strconv.Itoa(dbm) + "dBm"
}

func who(requestedBy string) string {
	if requestedBy == "" {
		return "the local operator"
	}
	return requestedBy
}

func port(hostport string) string {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return ""
	}
	return p
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// sentence ends s with a full stop unless it ends in one already (or in
// the "..." of a cut text).
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// The short replies to a text that asked for something.

// UpRefusedSMS answers an up refused at once.
func UpRefusedSMS(why string) string { return FitSMS("oobd: up refused: " + why) }

// AlreadyUpSMS answers an up while a session is up: its end moved.
func AlreadyUpSMS(until time.Time) string {
	return FitSMS("oobd: session already up, now until " + clockShort(until) + ".")
}

// ExtendedSMS answers an extend: the new end, or that it is still being
// set up (until zero), or that nothing runs (!running).
func ExtendedSMS(until time.Time, running bool) string {
	switch {
	case !running:
		return "oobd: no session is running; nothing to extend."
	case until.IsZero():
		return "oobd: extended; the session is still being set up."
	}
	return "oobd: extended until " + clockShort(until) + "."
}

// NoSessionSMS answers a down with no session running.
func NoSessionSMS() string { return "oobd: no session is running." }

// DrillResult is how a drill went, for its notices.
type DrillResult struct {
	At     time.Time
	OK     bool
	Step   string // the step that failed
	Reason string
}

// DrillPushMessage is the quiet push a drill sends through the link: it
// proves the push path without an alert on the phone.
func DrillPushMessage(at time.Time) Message {
	return Message{Title: "oobd: drill", Push: "Drill at " + clock(at) + ": link, path, tunnel and self-check worked; this push came through the cellular link.",
		SMS: "oobd drill ok", Priority: PriorityQuiet}
}

// DrillMessage tells the owner that a drill failed (loud: the backup path
// is broken), or that the first drill after a failure passed.
func DrillMessage(r DrillResult) Message {
	if r.OK {
		push := "The drill at " + clock(r.At) + " passed: the backup path works again."
		return Message{Title: "oobd: backup path OK again", Push: push, SMS: FitSMS("oobd: backup path OK again (drill " + clockShort(r.At) + ")."), Priority: PriorityNormal}
	}
	why := strings.TrimSpace(r.Step + ": " + r.Reason)
	push := "The drill at " + clock(r.At) + " failed at " + why + ". The backup path would not work if you needed it now."
	return Message{Title: "oobd: DRILL FAILED", Push: push, SMS: FitSMS("oobd: DRILL FAILED at " + why), Priority: PriorityHigh}
}
