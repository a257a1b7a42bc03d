package modemsim

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

func TestSMSCPrefix(t *testing.T) {
	if got := hex.EncodeToString(smscPrefix("+46705008999")); got != "07916407058099f9" {
		t.Errorf("SMSC prefix %s", got)
	}
	if got := hex.EncodeToString(smscPrefix("")); got != "00" {
		t.Errorf("empty SMSC prefix %s", got)
	}
}

func TestTextSCTS(t *testing.T) {
	for _, tt := range []struct {
		off  int
		want string
	}{{0, "26/03/04,05:06:07+00"}, {3600, "26/03/04,05:06:07+04"}, {-(5*3600 + 1800), "26/03/04,05:06:07-22"}} {
		ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", tt.off))
		if got := textSCTS(ts); got != tt.want {
			t.Errorf("offset %d: %s, want %s", tt.off, got, tt.want)
		}
	}
}

// FuzzBuildDeliver checks that whatever text is delivered decodes back to
// itself, in as many parts as it takes.
func FuzzBuildDeliver(f *testing.F) {
	f.Add("hello", false, false)
	f.Add("price 5€ [x] {y} ~ ^ | \\", false, false)
	f.Add(strings.Repeat("€", 100), false, true)
	f.Add("Grüße 😀 добрый", true, false)
	f.Add(strings.Repeat("😀", 80), true, true)
	f.Add("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./", false, false)
	f.Fuzz(func(t *testing.T, text string, ucs2, ref16 bool) {
		if text == "" || !utf8.ValidString(text) || len(text) > 2000 {
			return
		}
		cfg := deliverConfig{ton: -1, ucs2: ucs2, ref16: ref16, scts: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		pdus, err := buildDeliver("+46701234567", text, nil, 7, cfg)
		if err != nil {
			t.Skip(err) // too many parts
		}
		var segs []*tpdu.TPDU
		for _, p := range pdus {
			tp, err := sms.Unmarshal(p)
			if err != nil {
				t.Fatalf("unmarshal own PDU %x: %v", p, err)
			}
			if len(p) > 164 {
				t.Fatalf("TPDU of %d octets", len(p))
			}
			segs = append(segs, tp)
		}
		got, err := sms.Decode(segs)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if string(got) != text {
			t.Fatalf("round trip: %q, want %q", got, text)
		}
	})
}

// FuzzDecodeSubmit feeds client +CMGS bodies to the decoder and the
// reassembler: errors, never panics.
func FuzzDecodeSubmit(f *testing.F) {
	pdus, _ := sms.Encode([]byte(strings.Repeat("long text ", 30)), sms.To("+46701234567"))
	for _, p := range pdus {
		b, _ := p.MarshalBinary()
		f.Add("00"+hex.EncodeToString(b), len(b))
	}
	f.Add("0011000B916407214365F70000AA05E8329BFD06", 19)
	f.Add("07916407058099F901000B916407214365F7000805004100420043", 20)
	var a assembler
	f.Fuzz(func(t *testing.T, hx string, n int) {
		p, err := decodeSubmit(hx, n)
		if err != nil {
			return
		}
		if len(p.raw) != n {
			t.Fatalf("accepted %d octets for length %d", len(p.raw), n)
		}
		if m, err := a.add(p); err == nil && m != nil && m.Parts != len(m.PDUs) {
			t.Fatalf("message of %d parts with %d PDUs", m.Parts, len(m.PDUs))
		}
	})
}
