package trigger

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Verb is what a text asks for.
type Verb string

// The verbs of the SMS grammar.
const (
	VerbUp     Verb = "up"
	VerbDown   Verb = "down"
	VerbExtend Verb = "extend"
	VerbStatus Verb = "status"
	VerbKill   Verb = "kill"
)

// Fields is a text split by the grammar `SECRET [CODE] [VERB [ARG]]`
// before anything is checked.
type Fields struct {
	// BareKill is a text that is the single word "kill": it needs no
	// secret.
	BareKill bool
	Secret   string
	// Code is the second field when a code is expected and it has the
	// shape of one (six digits); "" when missing.
	Code string
	// Rest is VERB [ARG] and anything after, not yet checked.
	Rest []string
}

// CodeLen is the length of a TOTP code in a text.
const CodeLen = 6

// Split splits text into fields (any whitespace separates them; leading
// and trailing space is ignored). withCode says whether TOTP is on, so that
// the second field is the code. It returns false for an empty text.
func Split(text string, withCode bool) (Fields, bool) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return Fields{}, false
	}
	if len(f) == 1 && strings.EqualFold(f[0], string(VerbKill)) {
		return Fields{BareKill: true, Rest: []string{string(VerbKill)}}, true
	}
	out := Fields{Secret: f[0], Rest: f[1:]}
	if withCode && len(f) > 1 && isCode(f[1]) {
		out.Code, out.Rest = f[1], f[2:]
	}
	return out, true
}

func isCode(s string) bool {
	if len(s) != CodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Request is what an authenticated text asks for.
type Request struct {
	Verb Verb
	// Duration is the session length for up, the time to add for extend;
	// already capped at the maximum.
	Duration time.Duration
	// Capped is set when the text asked for more than the maximum.
	Capped bool
	// Sender is the E.164 number the request came from, SCTS when the
	// network stamped it.
	Sender string
	SCTS   time.Time
}

// errRequest is a text with the right secret that asks for something the
// grammar does not have.
var errRequest = errors.New("bad request")

// MinDuration is the shortest session or extension a text may ask for.
const MinDuration = time.Minute

// ParseRequest parses VERB [ARG]: no verb is "up" for def; durations are
// capped at max. Errors wrap errRequest and never quote the text (it may
// hold a mistyped secret).
func ParseRequest(rest []string, def, max time.Duration) (Request, error) {
	if len(rest) == 0 {
		return capped(Request{Verb: VerbUp, Duration: def}, max), nil
	}
	verb := Verb(strings.ToLower(rest[0]))
	args := rest[1:]
	switch verb {
	case VerbUp:
		if len(args) == 0 {
			return capped(Request{Verb: VerbUp, Duration: def}, max), nil
		}
		if len(args) > 1 {
			return Request{Verb: verb}, fmt.Errorf("%w: too many words after up", errRequest)
		}
		d, err := parseDuration(args[0])
		if err != nil {
			return Request{Verb: verb}, err
		}
		return capped(Request{Verb: VerbUp, Duration: d}, max), nil
	case VerbExtend:
		if len(args) != 1 {
			return Request{Verb: verb}, fmt.Errorf("%w: extend needs one duration", errRequest)
		}
		d, err := parseDuration(args[0])
		if err != nil {
			return Request{Verb: verb}, err
		}
		return capped(Request{Verb: VerbExtend, Duration: d}, max), nil
	case VerbDown, VerbStatus, VerbKill:
		if len(args) > 0 {
			return Request{Verb: verb}, fmt.Errorf("%w: %s takes no argument", errRequest, verb)
		}
		return Request{Verb: verb}, nil
	}
	return Request{}, fmt.Errorf("%w: unknown verb", errRequest)
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.ToLower(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w: bad duration (write e.g. 45m or 2h)", errRequest)
	case d < MinDuration:
		return 0, fmt.Errorf("%w: duration under %v", errRequest, MinDuration)
	}
	return d, nil
}

func capped(r Request, max time.Duration) Request {
	if max > 0 && r.Duration > max {
		r.Duration, r.Capped = max, true
	}
	return r
}

// implausible says why a text (whose secret is wrong) cannot be a trigger
// at all: too many words, control characters, or words after the secret
// (and code) that do not start with a verb. "" when it is shaped like one.
func implausible(f Fields, withCode bool) string {
	maxRest := 2
	if withCode && f.Code == "" {
		maxRest = 3 // the code may be what is malformed
	}
	switch {
	case len(f.Rest) > maxRest:
		return "too many words"
	case strings.ContainsFunc(f.Secret+strings.Join(f.Rest, ""), unicode.IsControl):
		return "control characters"
	}
	rest := f.Rest
	if withCode && f.Code == "" && len(rest) > 0 {
		rest = rest[1:] // a mistyped code; the verb follows it
	}
	if len(rest) > 0 && !knownVerb(rest[0]) {
		return "no verb"
	}
	return ""
}

// ParseVerb reads s as a verb of the grammar, in any case.
func ParseVerb(s string) (Verb, bool) {
	switch v := Verb(strings.ToLower(s)); v {
	case VerbUp, VerbDown, VerbExtend, VerbStatus, VerbKill:
		return v, true
	}
	return "", false
}

func knownVerb(s string) bool {
	_, ok := ParseVerb(s)
	return ok
}

// Redact is the audit log's form of a text: the secret and code replaced,
// known verbs and valid durations kept, every other word (it could be a
// mistyped secret) replaced by its placeholder.
func Redact(f Fields) string {
	if f.BareKill {
		return "kill"
	}
	parts := []string{"<secret>"}
	if f.Code != "" {
		parts = append(parts, "<code>")
	}
	for i, w := range f.Rest {
		switch {
		case i == 0 && knownVerb(w):
			parts = append(parts, strings.ToLower(w))
		case i == 1 && knownVerb(f.Rest[0]):
			if _, err := time.ParseDuration(strings.ToLower(w)); err == nil && len(w) <= 12 {
				parts = append(parts, strings.ToLower(w))
				continue
			}
			parts = append(parts, "<?>")
		default:
			parts = append(parts, "<?>")
		}
	}
	return strings.Join(parts, " ")
}

// shape describes a text that is not parsed at all (unknown senders):
// only how long it is.
func shape(text string) string {
	return fmt.Sprintf("<%d words, %d characters>", len(strings.Fields(text)), utf8.RuneCountInString(text))
}

// Usage is the grammar, as sent back to a sender who got it wrong.
func Usage(withCode bool) string {
	code := ""
	if withCode {
		code = " CODE"
	}
	return "Use: SECRET" + code + " [up [45m] | down | extend 1h | status | kill]"
}
