package totp

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, the SHA-1 rows (the key is the ASCII string
// "12345678901234567890"; the RFC prints 8-digit codes).
func TestRFC6238Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	tests := []struct {
		unix int64
		step int64
		code string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	}
	for _, tt := range tests {
		at := time.Unix(tt.unix, 0)
		if got := Counter(at); got != tt.step {
			t.Errorf("Counter(%d) = %#x, want %#x", tt.unix, got, tt.step)
		}
		if got := Code(key, at, 8); got != tt.code {
			t.Errorf("Code(%d, 8) = %s, want %s", tt.unix, got, tt.code)
		}
		// The 6 digits in use are the low 6 of the same truncation.
		if got := Code(key, at, Digits); got != tt.code[2:] {
			t.Errorf("Code(%d, 6) = %s, want %s", tt.unix, got, tt.code[2:])
		}
	}
}

// RFC 4226 Appendix D: HOTP values for counters 0–9.
func TestRFC4226Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := HOTP(key, uint64(i), 6); got != w {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, w)
		}
	}
}

func TestMatchWindow(t *testing.T) {
	key := []byte("12345678901234567890")
	at := time.Unix(1234567890, 0)
	c := Counter(at)
	for _, d := range []int64{-1, 0, 1} {
		code := HOTP(key, uint64(c+d), Digits)
		got := Match(key, code, at, 1)
		if len(got) == 0 || got[0] != c+d {
			t.Errorf("offset %d: Match = %v, want [%d]", d, got, c+d)
		}
	}
	for _, d := range []int64{-2, 2} {
		code := HOTP(key, uint64(c+d), Digits)
		if got := Match(key, code, at, 1); len(got) != 0 {
			t.Errorf("offset %d: Match = %v, want none", d, got)
		}
	}
	if got := Match(key, "12345", at, 1); len(got) != 0 {
		t.Errorf("short code matched %v", got)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	enc := Encode(k)
	got, err := Decode(" " + strings.ToLower(enc[:4]) + "-" + enc[4:] + "\n")
	if err != nil || string(got) != string(k) {
		t.Fatalf("Decode(Encode(k)) = %x, %v; want %x", got, err, k)
	}
	if _, err := Decode("not base32!"); err == nil {
		t.Error("Decode accepted garbage")
	}
	if _, err := Decode("MFRGG"); err == nil {
		t.Error("Decode accepted a 24-bit key")
	}
	u := URI(k, "oobd", "box@example")
	if !strings.HasPrefix(u, "otpauth://totp/oobd:box@example?") || !strings.Contains(u, "secret="+enc) || !strings.Contains(u, "period=30") {
		t.Errorf("URI = %s", u)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	f.Add("gezd gnbv gy3t qojq")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Decode(s)
		if err == nil && len(k) < 10 {
			t.Fatalf("short key %x accepted", k)
		}
	})
}
