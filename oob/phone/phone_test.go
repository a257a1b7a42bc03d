package phone

import (
	"testing"

	"github.com/oobd/oobd/modem"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		number string
		ton    modem.TON
		cc     string
		want   string // "" means no match
	}{
		{"+46701234567", modem.TONInternational, "", "+46701234567"},
		{"46701234567", modem.TONInternational, "", "+46701234567"},
		{"46701234567", modem.TONInternational, "1", "+46701234567"},
		{"0046701234567", modem.TONUnknown, "", "+46701234567"},
		{"0046701234567", modem.TONNational, "46", "+46701234567"},
		{"+46701234567", modem.TONUnknown, "", "+46701234567"},
		{"0701234567", modem.TONNational, "46", "+46701234567"},
		{"701234567", modem.TONNational, "46", "+46701234567"},
		{"0701234567", modem.TONUnknown, "46", "+46701234567"},
		{"0701234567", modem.TONNational, "", ""},
		{"701234567", modem.TONUnknown, "", ""},
		{"Bank", modem.TONAlphanumeric, "46", ""},
		{"46701234567", modem.TONAlphanumeric, "46", ""},
		{"12345", modem.TON(3), "46", ""},
		{"", modem.TONInternational, "", ""},
		{"+", modem.TONInternational, "", ""},
		{"+4670123456789012", modem.TONInternational, "", ""}, // 16 digits
		{"+46 70", modem.TONInternational, "", ""},
		{"07012x", modem.TONNational, "46", ""},
		{"0701234567", modem.TONNational, "4x", ""},
		{"+0701", modem.TONInternational, "", ""},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.number, tt.ton, tt.cc)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("Normalize(%q, %d, %q) = %q, %v; want %q", tt.number, tt.ton, tt.cc, got, ok, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		number, cc, want string
		wantErr          bool
	}{
		{"+46701234567", "", "+46701234567", false},
		{" 0046701234567 ", "", "+46701234567", false},
		{"0701234567", "46", "+46701234567", false},
		{"0701234567", "", "", true},
		{"+46-70", "", "", true},
		{"", "46", "", true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.number, tt.cc)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Parse(%q, %q) = %q, %v; want %q, err %v", tt.number, tt.cc, got, err, tt.want, tt.wantErr)
		}
	}
}
