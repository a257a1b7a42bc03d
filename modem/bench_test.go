package modem

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// benchListing is a realistic +CMGL=4 reply: 30 stored PDUs (a 3-part
// GSM-7 text, UCS-2 texts with a surrogate pair, short GSM-7 triggers,
// long carrier notices from an alphanumeric sender) with a ^RSSI line
// between two entries, as modems interleave them. It returns the lines
// and the number of messages they hold.
func benchListing(tb testing.TB) (info []string, messages int) {
	tb.Helper()
	encode := func(from, text string, at time.Time) []string {
		oa := tpdu.Address{Addr: strings.TrimPrefix(from, "+"), TOA: 0x91}
		if !strings.HasPrefix(from, "+") {
			oa = tpdu.Address{Addr: from, TOA: 0xd0}
		}
		tps, err := sms.NewEncoder(sms.AsDeliver, sms.WithTemplateOption(tpdu.WithOA(oa))).Encode([]byte(text))
		if err != nil {
			tb.Fatal(err)
		}
		var out []string
		for i := range tps {
			tps[i].SCTS = tpdu.Timestamp{Time: at}
			out = append(out, pduHex(tb, &tps[i]))
		}
		return out
	}
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8) // 3 GSM-7 parts
	pdus := encode("+46701234567", long, scts0)
	messages = 1
	singles := []struct{ from, text string }{
		{"+46701234567", "Tr1gger-s3cret up 45m"},
		{"Telia", "Du har nu använt 80% av din surf. Köp mer data på telia.se/surf eller svara EXTRA till 4848. Mvh Telia"},
		{"+46709999999", "Hej 👋 Привет, всё в порядке?"},
		{"+46701234567", "Tr1gger-s3cret 492039 status"},
		{"+46708888888", "Привет! Перезвони мне, пожалуйста, когда сможешь."},
		{"+46701234567", "Tr1gger-s3cret down"},
		{"+46707777777", "ok see you at 6"},
	}
	for i := 0; len(pdus) < 30; i++ {
		s := singles[i%len(singles)]
		pdus = append(pdus, encode(s.from, s.text, scts0.Add(time.Duration(i)*time.Minute))...)
		messages++
	}
	if len(pdus) != 30 {
		tb.Fatalf("listing: %d PDUs, want 30", len(pdus))
	}
	for i, h := range pdus {
		p, err := pdumode.UnmarshalHexString(h)
		if err != nil {
			tb.Fatal(err)
		}
		info = append(info, fmt.Sprintf("+CMGL: %d,%d,,%d", i, i%2, len(p.TPDU)), h)
		if i == 11 {
			info = append(info, "^RSSI:17")
		}
	}
	return info, messages
}

// decodeListing is what Modem.Messages does with a listing once read.
func decodeListing(info []string) ([]Message, error) {
	entries, problems := parseCMGL(info)
	if len(problems) > 0 {
		return nil, problems[0]
	}
	for _, e := range entries {
		if !wellFormed(e) {
			return nil, fmt.Errorf("slot %d: not well formed", e.index)
		}
	}
	return assemble(entries), nil
}

// plainMessage is what a plain reader built on warthog618/sms keeps.
type plainMessage struct {
	sender string
	scts   time.Time
	text   string
}

// decodeListingSMS is the reference: a plain reader that takes the line
// after each +CMGL header as the PDU and decodes it with warthog618/sms
// alone (no header check, no length check, no binary or broken slots
// reported, no sorting).
func decodeListingSMS(info []string) ([]plainMessage, error) {
	c := sms.NewCollector()
	defer c.Close()
	var out []plainMessage
	for i := 0; i+1 < len(info); i++ {
		if !strings.HasPrefix(info[i], "+CMGL:") {
			continue
		}
		i++
		p, err := pdumode.UnmarshalHexString(info[i])
		if err != nil {
			return nil, err
		}
		tp, err := sms.Unmarshal(p.TPDU)
		if err != nil {
			return nil, err
		}
		tps, err := c.Collect(*tp)
		if err != nil {
			return nil, err
		}
		if tps == nil {
			continue
		}
		txt, err := sms.Decode(tps)
		if err != nil {
			return nil, err
		}
		out = append(out, plainMessage{sender: tps[0].OA.Number(), scts: tps[0].SCTS.Time, text: string(txt)})
	}
	return out, nil
}

// BenchmarkDecodeListing decodes a 30-PDU +CMGL listing into messages:
// parseCMGL, the length check and assemble. The reference is
// BenchmarkDecodeListingSMS; bench/decode.sh prints them side by side.
func BenchmarkDecodeListing(b *testing.B) {
	info, want := benchListing(b)
	msgs, err := decodeListing(info)
	if err != nil || len(msgs) != want {
		b.Fatalf("decoded %d messages (%v), want %d", len(msgs), err, want)
	}
	for _, m := range msgs {
		if m.Problem != "" || !m.Complete {
			b.Fatalf("message %v: problem %q, complete %v", m.Indexes, m.Problem, m.Complete)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		decodeListing(info)
	}
}

// BenchmarkDecodeListingSMS is the reference for BenchmarkDecodeListing:
// the same listing decoded with warthog618/sms directly.
func BenchmarkDecodeListingSMS(b *testing.B) {
	info, want := benchListing(b)
	plain, err := decodeListingSMS(info)
	if err != nil || len(plain) != want {
		b.Fatalf("decoded %d messages (%v), want %d", len(plain), err, want)
	}
	ours, err := decodeListing(info)
	if err != nil {
		b.Fatal(err)
	}
	texts := map[string]int{}
	for _, m := range ours {
		texts[m.Sender+"\x00"+m.Text]++
	}
	for _, m := range plain {
		texts[m.sender+"\x00"+m.text]--
	}
	for k, n := range texts {
		if n != 0 {
			b.Fatalf("ours and warthog618/sms disagree on %q (%+d)", k, n)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		decodeListingSMS(info)
	}
}
