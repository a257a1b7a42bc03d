package modem

import (
	"errors"
	"strings"
	"testing"

	"github.com/oobd/oobd/modem/modemsim"
)

func TestParseCSCA(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`"+46705008999",145`, "+46705008999"},
		{`"46705008999",145`, "+46705008999"}, // international by its type
		{`"0705008999",129`, "0705008999"},
		{`"",129`, ""},
		{`""`, ""},
		{``, ""},
		{`"+46 70",145`, ""},
		{`"002B00340036003700300035",145`, "+46705"}, // UCS2 character set
		{`"0030003100320033",129`, "0123"},
		{`"0041004A",129`, ""}, // UCS2, but not a number
	}
	for _, tt := range tests {
		if got := parseCSCA(tt.in); got != tt.want {
			t.Errorf("parseCSCA(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestServiceCentre(t *testing.T) {
	tests := []struct {
		name    string
		opts    []modemsim.Option
		want    string
		wantErr error
	}{
		{"set", nil, "+46705008999", nil},
		{"another", []modemsim.Option{modemsim.WithSMSC("+4670000111")}, "+4670000111", nil},
		{"not set", []modemsim.Option{modemsim.WithSMSC("")}, "", nil},
		// The SIM holds the number: a locked SIM cannot say.
		{"SIM locked", []modemsim.Option{modemsim.WithPIN("1234")}, "", ErrSIMNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := openSimulated(t, newSimulator(t, tt.opts...))
			got, err := m.ServiceCentre(testCtx(t))
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ServiceCentre = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzParseCSCA: never a panic, and only a number comes back.
func FuzzParseCSCA(f *testing.F) {
	for _, s := range []string{`"+46705008999",145`, `"",129`, `"002B0034",145`, `"`, ",,", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := parseCSCA(s); n != "" && !isDigits(strings.TrimPrefix(n, "+")) {
			t.Errorf("parseCSCA(%q) = %q", s, n)
		}
	})
}
