package trigger

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		text     string
		withCode bool
		want     Fields
		ok       bool
	}{
		{"", false, Fields{}, false},
		{"  \t\n ", false, Fields{}, false},
		{"kill", false, Fields{BareKill: true, Rest: []string{"kill"}}, true},
		{" KiLL \n", true, Fields{BareKill: true, Rest: []string{"kill"}}, true},
		{"Secret", false, Fields{Secret: "Secret", Rest: []string{}}, true},
		{"  Secret   up   45m  ", false, Fields{Secret: "Secret", Rest: []string{"up", "45m"}}, true},
		{"Secret\tstatus", false, Fields{Secret: "Secret", Rest: []string{"status"}}, true},
		{"Secret 123456 up 2h", true, Fields{Secret: "Secret", Code: "123456", Rest: []string{"up", "2h"}}, true},
		{"Secret 123456", true, Fields{Secret: "Secret", Code: "123456", Rest: []string{}}, true},
		{"Secret up", true, Fields{Secret: "Secret", Rest: []string{"up"}}, true},                // code missing
		{"Secret 12345 up", true, Fields{Secret: "Secret", Rest: []string{"12345", "up"}}, true}, // not a code
		{"Secret 123456 up", false, Fields{Secret: "Secret", Rest: []string{"123456", "up"}}, true},
		{"Secret kill", false, Fields{Secret: "Secret", Rest: []string{"kill"}}, true},
		{"kill kill", false, Fields{Secret: "kill", Rest: []string{"kill"}}, true},
		{"Sécrèt　up", false, Fields{Secret: "Sécrèt", Rest: []string{"up"}}, true}, // ideographic space separates
	}
	for _, tt := range tests {
		got, ok := Split(tt.text, tt.withCode)
		if ok != tt.ok || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
			t.Errorf("Split(%q, %v) = %+v, %v; want %+v, %v", tt.text, tt.withCode, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseRequest(t *testing.T) {
	const def, max = 30 * time.Minute, 4 * time.Hour
	tests := []struct {
		rest   string
		verb   Verb
		dur    time.Duration
		capped bool
		err    bool
	}{
		{"", VerbUp, def, false, false},
		{"up", VerbUp, def, false, false},
		{"UP", VerbUp, def, false, false},
		{"Up 45m", VerbUp, 45 * time.Minute, false, false},
		{"up 2H", VerbUp, 2 * time.Hour, false, false},
		{"up 1h30m", VerbUp, 90 * time.Minute, false, false},
		{"up 10h", VerbUp, max, true, false},
		{"up 45", "", 0, false, true},
		{"up 30s", "", 0, false, true},
		{"up -1h", "", 0, false, true},
		{"up 1h 2h", "", 0, false, true},
		{"down", VerbDown, 0, false, false},
		{"DOWN now", "", 0, false, true},
		{"extend 1h", VerbExtend, time.Hour, false, false},
		{"extend 100h", VerbExtend, max, true, false},
		{"extend", "", 0, false, true},
		{"extend soon", "", 0, false, true},
		{"status", VerbStatus, 0, false, false},
		{"Status", VerbStatus, 0, false, false},
		{"kill", VerbKill, 0, false, false},
		{"reboot", "", 0, false, true},
		{"123456 up", "", 0, false, true},
	}
	for _, tt := range tests {
		r, err := ParseRequest(strings.Fields(tt.rest), def, max)
		if tt.err {
			if err == nil || !errors.Is(err, errRequest) {
				t.Errorf("ParseRequest(%q) = %+v, %v; want a request error", tt.rest, r, err)
			}
			continue
		}
		if err != nil || r.Verb != tt.verb || r.Duration != tt.dur || r.Capped != tt.capped {
			t.Errorf("ParseRequest(%q) = %+v, %v; want %s %v capped=%v", tt.rest, r, err, tt.verb, tt.dur, tt.capped)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		text     string
		withCode bool
		want     string
	}{
		{"kill", false, "kill"},
		{"hunter2 up 2h", false, "<secret> up 2h"},
		{"hunter2 123456 extend 1h", true, "<secret> <code> extend 1h"},
		{"hunter2 hunter3 up", false, "<secret> <?> <?>"},
		{"hunter2 up hunter2", false, "<secret> up <?>"},
		{"hunter2", false, "<secret>"},
	}
	for _, tt := range tests {
		f, _ := Split(tt.text, tt.withCode)
		if got := Redact(f); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	if u := Usage(true); len(u) > 100 || !strings.Contains(u, "SECRET CODE") {
		t.Errorf("Usage = %q", u)
	}
}

// FuzzGrammar checks that no text makes the parser panic, that fields
// never hold whitespace, and that a redacted text never holds the secret.
func FuzzGrammar(f *testing.F) {
	for _, s := range []string{"", "kill", "S3cret", "S3cret 123456 up 45m", "S3cret extend 1h", "S3cret status",
		"S3cret up 99999999h", "S3cret up 1e9h", "  S3cret\tDOWN\n", "S3cret 123456 123456", "S3cret up 1h S3cret", "é ü\u00a0up"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, withCode bool) {
		fs, ok := Split(text, withCode)
		if !ok {
			if strings.TrimSpace(text) != "" && len(strings.Fields(text)) != 0 {
				t.Fatalf("Split(%q) = not ok for a non-empty text", text)
			}
			return
		}
		for _, w := range append([]string{fs.Secret, fs.Code}, fs.Rest...) {
			if strings.ContainsAny(w, " \t\n\r") {
				t.Fatalf("field %q holds whitespace", w)
			}
		}
		r, err := ParseRequest(fs.Rest, 30*time.Minute, 4*time.Hour)
		if err == nil && (r.Duration < 0 || r.Duration > 4*time.Hour) {
			t.Fatalf("duration %v out of bounds", r.Duration)
		}
		red := strings.NewReplacer("<secret>", " ", "<code>", " ", "<?>", " ").Replace(Redact(fs))
		if fs.Secret != "" && len(fs.Secret) > 3 && !knownVerb(fs.Secret) && strings.Contains(red, fs.Secret) {
			if _, derr := time.ParseDuration(strings.ToLower(fs.Secret)); derr != nil {
				t.Fatalf("Redact(%q) = %q holds the secret", text, red)
			}
		}
	})
}
