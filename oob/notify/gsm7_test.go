package notify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warthog618/sms/encoding/gsm7"
)

// librarySeptets counts septets with the encoder the SMS code sends with.
func librarySeptets(s string) (int, bool) {
	b, err := gsm7.Encode([]byte(s))
	if err != nil {
		return 0, false
	}
	return len(b), true
}

// TestSeptetsOfAgreesWithEncoder checks the hand-written table against
// warthog618/sms's GSM-7 encoder for every rune of the BMP's first part.
func TestSeptetsOfAgreesWithEncoder(t *testing.T) {
	for r := rune(0); r < 0x3000; r++ {
		if r == 0x1b { // ESC: the encoder sends it raw; we refuse it
			continue
		}
		want, ok := librarySeptets(string(r))
		if !ok {
			want = 0
		}
		if got := septetsOf(r); got != want {
			t.Errorf("septetsOf(%U %q) = %d, encoder says %d", r, r, got, want)
		}
	}
	if septetsOf(0x1b) != 0 {
		t.Error("ESC counted as GSM-7")
	}
}

func TestSeptets(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		gsm7 bool
	}{
		{"", 0, true},
		{"hello", 5, true},
		{"a{b}", 6, true},
		{"€5", 3, true},
		{"Ünïcode", 6, false}, // ï is not GSM-7
		{"line\nnext", 9, true},
		{"tab\there", 7, false},
		{"`", 0, false},
		{"\xff", 0, false},
		{strings.Repeat("a", 160), 160, true},
		{strings.Repeat("[", 80), 160, true},
	}
	for _, tt := range tests {
		n, ok := Septets(tt.in)
		if n != tt.n || ok != tt.gsm7 {
			t.Errorf("Septets(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.gsm7)
		}
	}
}

func TestFitsSMS(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{strings.Repeat("a", 160), true},
		{strings.Repeat("a", 161), false},
		{strings.Repeat("a", 158) + "{", true},
		{strings.Repeat("a", 159) + "{", false},
		{strings.Repeat("я", 70), true}, // UCS-2
		{strings.Repeat("я", 71), false},
		{strings.Repeat("a", 69) + "😀", false}, // a surrogate pair is 2 units
		{strings.Repeat("a", 68) + "😀", true},
	}
	for _, tt := range tests {
		if got := FitsSMS(tt.in); got != tt.want {
			t.Errorf("FitsSMS(%d runes %q…) = %v, want %v", utf8.RuneCountInString(tt.in), firstRunes(tt.in, 8), got, tt.want)
		}
	}
}

func firstRunes(s string, n int) string {
	return truncateRunes(s, n)
}

func TestFitSMS(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain text", "plain text"},
		{"“quoted” – dash… ‘x’", `"quoted" - dash... 'x'`},
		{"Ångström café naïve Łódź", "Ångström café naive Lodz"},
		{"tab\tand\u00a0nbsp", "tab and nbsp"},
		{"ctl\x00\x07\x1bzero\u200bwidth", "ctlzerowidth"},
		{"emoji 😀 and 漢字", "emoji ? and ??"},
		{"keep {braces} [and] ~^|\\ €", "keep {braces} [and] ~^|\\ €"},
		{"bad utf8 \xff!", "bad utf8 ?!"},
		{strings.Repeat("a", 160), strings.Repeat("a", 160)},
		{strings.Repeat("a", 161), strings.Repeat("a", 157) + "..."},
		{strings.Repeat("{", 100), strings.Repeat("{", 78) + "..."},
		{strings.Repeat("word ", 40), strings.TrimRight(strings.Repeat("word ", 32)[:157], " ") + "..."},
	}
	for _, tt := range tests {
		got := FitSMS(tt.in)
		if got != tt.want {
			t.Errorf("FitSMS(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		assertOneSMS(t, got)
	}
}

// assertOneSMS fails unless s is GSM-7 only and fits one SMS, as counted
// both by Septets and by the encoder the SMS code uses.
func assertOneSMS(t *testing.T, s string) {
	t.Helper()
	n, ok := Septets(s)
	if !ok || n > SMSMaxSeptets {
		t.Errorf("%q: %d septets, GSM-7 only %v; want ≤160 and true", s, n, ok)
	}
	ln, lok := librarySeptets(s)
	if !lok || ln != n {
		t.Errorf("%q: encoder says %d septets (ok %v), Septets %d", s, ln, lok, n)
	}
}

func FuzzFitSMS(f *testing.F) {
	for _, s := range []string{
		"", "hello", "“x” – …", strings.Repeat("€", 100), strings.Repeat("a", 200),
		"\x1b\x00\xff", "emoji 😀", "Ångström", strings.Repeat("ab{", 60),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := FitSMS(s)
		assertOneSMS(t, got)
		if !FitsSMS(got) {
			t.Errorf("FitsSMS(FitSMS(%q)) = false", s)
		}
		if FitSMS(got) != got {
			t.Errorf("FitSMS is not idempotent on %q", s)
		}
		// Text that is GSM-7 and short already is left alone.
		if n, ok := Septets(s); ok && n <= SMSMaxSeptets && !strings.ContainsAny(s, "\f") && got != s {
			t.Errorf("FitSMS changed a fitting GSM-7 text %q to %q", s, got)
		}
	})
}

func FuzzSeptets(f *testing.F) {
	for _, s := range []string{"", "abc", "[]{}", "€", "é", "ï", "\n\r\f", "\x1b", "\xff", "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := Septets(s)
		if n < 0 || n > 2*len(s) {
			t.Fatalf("Septets(%q) = %d", s, n)
		}
		if strings.ContainsRune(s, 0x1b) {
			if ok {
				t.Errorf("Septets(%q) accepts ESC", s)
			}
			return
		}
		ln, lok := librarySeptets(s)
		if lok != ok || (ok && ln != n) {
			t.Errorf("Septets(%q) = %d, %v; encoder %d, %v", s, n, ok, ln, lok)
		}
		if u := UCS2Units(s); u < utf8.RuneCountInString(s) {
			t.Errorf("UCS2Units(%q) = %d < runes", s, u)
		}
	})
}
