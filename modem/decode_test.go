package modem

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

var scts0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("", 3600))

// deliver encodes text as SMS-DELIVER TPDUs from a sender, the way a
// network would, and returns them as +CMGL PDU lines (SMSC prefixed).
func deliver(t *testing.T, from string, ton tpdu.TypeOfNumber, text string, opts ...sms.EncoderOption) []string {
	t.Helper()
	oa := tpdu.Address{Addr: strings.TrimPrefix(from, "+"), TOA: 0x81 | byte(ton)<<4}
	if ton == tpdu.TonAlphanumeric {
		oa = tpdu.Address{Addr: from, TOA: 0xd0}
	}
	opts = append([]sms.EncoderOption{sms.AsDeliver, sms.WithTemplateOption(tpdu.WithOA(oa))}, opts...)
	tps, err := sms.NewEncoder(opts...).Encode([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range tps {
		tps[i].SCTS = tpdu.Timestamp{Time: scts0.Add(time.Duration(i) * time.Second)}
		out = append(out, pduHex(t, &tps[i]))
	}
	return out
}

func pduHex(t testing.TB, tp *tpdu.TPDU) string {
	t.Helper()
	b, err := tp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := pdumode.PDU{SMSC: pdumode.SMSCAddress{Address: tpdu.Address{Addr: "46705008999", TOA: 0x91}}, TPDU: b}
	h, err := p.MarshalHexString()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rawDeliver builds one SMS-DELIVER part by hand: dcs, user data and a
// concatenation element (iei 0: 8-bit ref, 8: 16-bit ref; ref<0: none).
func rawDeliver(t testing.TB, from string, dcs byte, ud []byte, iei byte, ref, total, seq int, at time.Time) string {
	t.Helper()
	tp, err := tpdu.NewDeliver()
	if err != nil {
		t.Fatal(err)
	}
	tp.OA = tpdu.Address{Addr: strings.TrimPrefix(from, "+"), TOA: 0x91}
	tp.DCS = tpdu.DCS(dcs)
	tp.SCTS = tpdu.Timestamp{Time: at}
	if ref >= 0 {
		data := []byte{byte(ref), byte(total), byte(seq)}
		if iei == 8 {
			data = []byte{byte(ref >> 8), byte(ref), byte(total), byte(seq)}
		}
		tp.SetUDH(tpdu.UserDataHeader{{ID: iei, Data: data}})
	}
	tp.SetUD(ud)
	return pduHex(t, tp)
}

// entriesOf numbers PDU lines as storage slots from first.
func entriesOf(first int, pdus ...string) []stored {
	var out []stored
	for i, p := range pdus {
		out = append(out, stored{index: first + i, stat: 1, pdu: p})
	}
	return out
}

func pick(pdus []string, order ...int) []string {
	var out []string
	for _, i := range order {
		out = append(out, pdus[i])
	}
	return out
}

func TestAssemble(t *testing.T) {
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8) // 3 parts in GSM7
	longParts := deliver(t, "+46701234567", tpdu.TonInternational, long)
	if len(longParts) != 3 {
		t.Fatalf("long text: %d parts, want 3", len(longParts))
	}
	ucsLong := strings.Repeat("Привет, мир! ", 12) // 156 UCS-2 chars: 3 parts
	ucsParts := deliver(t, "+46701234567", tpdu.TonInternational, ucsLong)
	// A surrogate pair split across two parts: U+1F44B is D83D DC4B.
	surA := rawDeliver(t, "+4670", 0x08, []byte{0x00, 'h', 0x00, 'i', 0xd8, 0x3d}, 0, 7, 2, 1, scts0)
	surB := rawDeliver(t, "+4670", 0x08, []byte{0xdc, 0x4b, 0x00, '!'}, 0, 7, 2, 2, scts0)
	ref16a := rawDeliver(t, "+4670", 0x00, []byte("hello "), 8, 0x1234, 2, 1, scts0)
	ref16b := rawDeliver(t, "+4670", 0x00, []byte("world"), 8, 0x1234, 2, 2, scts0)
	// Same low byte, 8-bit reference: a different message.
	ref8 := rawDeliver(t, "+4670", 0x00, []byte("other"), 0, 0x34, 2, 1, scts0)
	data := rawDeliver(t, "+4670", 0x04, []byte{0x00, 0x01, 0xfe, 0xff}, 0, -1, 0, 0, scts0)

	tests := []struct {
		name  string
		pdus  []string
		want  []Message
		check func(t *testing.T, got []Message)
	}{
		{
			name: "gsm7 international",
			pdus: deliver(t, "+46701234567", tpdu.TonInternational, "up 45m"),
			want: []Message{{Indexes: []int{0}, Sender: "+46701234567", SenderTON: TONInternational, SCTS: scts0,
				Text: "up 45m", Encoding: EncodingGSM7, Parts: 1, Have: 1, Complete: true}},
		},
		{
			name: "gsm7 extension table",
			pdus: deliver(t, "+46701234567", tpdu.TonInternational, "€ [x] {y} ~ ^ | \\"),
			want: []Message{{Indexes: []int{0}, Sender: "+46701234567", SenderTON: TONInternational, SCTS: scts0,
				Text: "€ [x] {y} ~ ^ | \\", Encoding: EncodingGSM7, Parts: 1, Have: 1, Complete: true}},
		},
		{
			name: "ucs2 with surrogate pair",
			pdus: deliver(t, "+46701234567", tpdu.TonInternational, "Hej 👋 Привет"),
			want: []Message{{Indexes: []int{0}, Sender: "+46701234567", SenderTON: TONInternational, SCTS: scts0,
				Text: "Hej 👋 Привет", Encoding: EncodingUCS2, Parts: 1, Have: 1, Complete: true}},
		},
		{
			name: "national sender kept as sent",
			pdus: deliver(t, "0701234567", tpdu.TonNational, "hi"),
			want: []Message{{Indexes: []int{0}, Sender: "0701234567", SenderTON: TONNational, SCTS: scts0,
				Text: "hi", Encoding: EncodingGSM7, Parts: 1, Have: 1, Complete: true}},
		},
		{
			name: "alphanumeric sender",
			pdus: deliver(t, "Telia", tpdu.TonAlphanumeric, "Your bill"),
			want: []Message{{Indexes: []int{0}, Sender: "Telia", SenderTON: TONAlphanumeric, SCTS: scts0,
				Text: "Your bill", Encoding: EncodingGSM7, Parts: 1, Have: 1, Complete: true}},
		},
		{
			name: "multipart out of order",
			pdus: pick(longParts, 2, 0, 1),
			want: []Message{{Indexes: []int{1, 2, 0}, Sender: "+46701234567", SenderTON: TONInternational, SCTS: scts0,
				Text: long, Encoding: EncodingGSM7, Parts: 3, Have: 3, Complete: true}},
		},
		{
			name: "multipart ucs2",
			pdus: pick(ucsParts, 1, 2, 0),
			want: []Message{{Indexes: []int{2, 0, 1}, Sender: "+46701234567", SenderTON: TONInternational, SCTS: scts0,
				Text: ucsLong, Encoding: EncodingUCS2, Parts: 3, Have: 3, Complete: true}},
		},
		{
			name: "surrogate split across parts",
			pdus: []string{surB, surA},
			want: []Message{{Indexes: []int{1, 0}, Sender: "+4670", SenderTON: TONInternational, SCTS: scts0,
				Text: "hi👋!", Encoding: EncodingUCS2, Parts: 2, Have: 2, Complete: true}},
		},
		{
			name: "incomplete set",
			pdus: pick(longParts, 2, 0),
			check: func(t *testing.T, got []Message) {
				if len(got) != 1 {
					t.Fatalf("got %d messages, want 1", len(got))
				}
				m := got[0]
				if m.Complete || m.Parts != 3 || m.Have != 2 || !m.SCTS.Equal(scts0) || fmt.Sprint(m.Indexes) != "[1 0]" {
					t.Errorf("got %+v, want incomplete 2 of 3 at slots [1 0] aged from %v", m, scts0)
				}
			},
		},
		{
			name: "16-bit and 8-bit references kept apart",
			pdus: []string{ref16b, ref8, ref16a},
			check: func(t *testing.T, got []Message) {
				if len(got) != 2 {
					t.Fatalf("got %d messages, want 2: %+v", len(got), got)
				}
				var texts []string
				for _, m := range got {
					texts = append(texts, fmt.Sprintf("%s:%v", m.Text, m.Complete))
				}
				if s := strings.Join(texts, "|"); s != "hello world:true|other:false" && s != "other:false|hello world:true" {
					t.Errorf("got %s", s)
				}
			},
		},
		{
			name: "duplicate part",
			pdus: []string{longParts[0], longParts[1], longParts[0], longParts[2]},
			check: func(t *testing.T, got []Message) {
				if len(got) != 1 || !got[0].Complete || got[0].Text != long || len(got[0].Indexes) != 4 {
					t.Errorf("got %+v, want one complete message holding 4 slots", got)
				}
			},
		},
		{
			name: "8-bit data is binary",
			pdus: []string{data},
			want: []Message{{Indexes: []int{0}, Sender: "+4670", SenderTON: TONInternational, SCTS: scts0,
				Encoding: EncodingBinary, Data: []byte{0x00, 0x01, 0xfe, 0xff}, Parts: 1, Have: 1, Complete: true}},
		},
		{
			// 3GPP TS 23.040-style example, as widely published: SMSC
			// +31624000000, sender +31641600986, "How are you?".
			name: "hand-written PDU",
			pdus: []string{"07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"},
			check: func(t *testing.T, got []Message) {
				if len(got) != 1 || got[0].Sender != "+31641600986" || got[0].Text != "How are you?" || got[0].Encoding != EncodingGSM7 {
					t.Fatalf("got %+v", got)
				}
				// Its zone octet 0x08 reads "-00" by the letter of 23.040
				// (bit 3 of the tens digit is the sign).
				if s := got[0].SCTS.Format("2006-01-02 15:04:05"); s != "2002-08-26 19:37:41" {
					t.Errorf("SCTS %v, want 2002-08-26 19:37:41", got[0].SCTS)
				}
			},
		},
		{
			name: "garbage PDU reported, not dropped",
			pdus: []string{"0011223344"},
			check: func(t *testing.T, got []Message) {
				if len(got) != 1 || got[0].Problem == "" || got[0].Encoding != EncodingBinary || got[0].Indexes[0] != 0 {
					t.Errorf("got %+v, want one binary message with a problem", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assemble(entriesOf(0, tt.pdus...))
			if tt.check != nil {
				tt.check(t, got)
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if fmt.Sprint(g.Indexes) != fmt.Sprint(w.Indexes) || g.Sender != w.Sender || g.SenderTON != w.SenderTON ||
					!g.SCTS.Equal(w.SCTS) || g.Text != w.Text || g.Encoding != w.Encoding || !bytes.Equal(g.Data, w.Data) ||
					g.Parts != w.Parts || g.Have != w.Have || g.Complete != w.Complete || g.Problem != "" {
					t.Errorf("message %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestStoredOutgoingIsReported(t *testing.T) {
	got := assemble([]stored{{index: 4, stat: 2, pdu: deliver(t, "+4670", tpdu.TonInternational, "x")[0]}})
	if len(got) != 1 || got[0].Problem == "" || got[0].Indexes[0] != 4 {
		t.Fatalf("got %+v, want slot 4 reported with a problem", got)
	}
}

func TestParseCMGL(t *testing.T) {
	p := deliver(t, "+46701234567", tpdu.TonInternational, "hello")[0]
	info := []string{
		"^RSSI:17",
		"+CMGL: 0,1,,24",
		"+CMTI: \"SM\",3", // an indication between header and PDU
		p,
		"+CMGL: 3,0,,99", // a header with no PDU after it
		"+CMGL: 4,1,\"alpha, with comma\",24",
		p,
		"^BOOT:1,2",
	}
	entries, problems := parseCMGL(info)
	if len(entries) != 2 || entries[0].index != 0 || entries[1].index != 4 || entries[0].pdu != p || entries[1].length != 24 {
		t.Errorf("entries %+v", entries)
	}
	if len(problems) != 1 {
		t.Errorf("problems %v, want 1 (the header without PDU)", problems)
	}
}

// Parts join only when everything about them agrees; a part that cannot
// belong stands alone with why, for the caller to delete and audit.
func TestAssembleKeepsForeignPartsApart(t *testing.T) {
	owner1 := rawDeliver(t, "+46701234567", 0x00, []byte("SECRET "), 0, 9, 2, 1, scts0)
	owner2 := rawDeliver(t, "+46701234567", 0x00, []byte("up"), 0, 9, 2, 2, scts0)
	// The same digits as an alphanumeric sender, same reference: not the
	// owner's second part.
	alpha := func() string {
		tp, _ := tpdu.NewDeliver()
		tp.OA = tpdu.Address{Addr: "46701234567", TOA: 0xd0}
		tp.SCTS = tpdu.Timestamp{Time: scts0}
		tp.SetUDH(tpdu.UserDataHeader{{ID: 0, Data: []byte{9, 2, 2}}})
		tp.SetUD([]byte("down"))
		return pduHex(t, tp)
	}()
	outOfRange := rawDeliver(t, "+46701234567", 0x00, []byte("x"), 0, 9, 2, 3, scts0)
	conflicting := rawDeliver(t, "+46701234567", 0x00, []byte("kill"), 0, 9, 2, 2, scts0)
	duplicate := owner2
	// Same sender and reference, another part count, later: not a part of
	// the owner's text, and no set of its own.
	otherCount := rawDeliver(t, "+46701234567", 0x00, []byte("down"), 0, 9, 3, 3, scts0.Add(time.Minute))

	msgs := assemble(entriesOf(1, owner1, alpha, outOfRange, owner2, conflicting, duplicate, otherCount))
	var joinedText string
	var strays []string
	for _, m := range msgs {
		switch {
		case m.Problem != "":
			strays = append(strays, m.Problem)
		case m.SenderTON == TONAlphanumeric:
			if m.Complete {
				t.Errorf("the alphanumeric part came out complete: %+v", m)
			}
		case m.Parts == 2:
			joinedText = m.Text
			if !m.Complete || len(m.Indexes) != 3 {
				t.Errorf("the owner's text: %+v, want complete from slots 1, 4 and the duplicate 6", m)
			}
		}
	}
	if joinedText != "SECRET up" {
		t.Errorf("joined %q, want %q", joinedText, "SECRET up")
	}
	all := strings.Join(strays, " | ")
	if len(strays) != 3 || !strings.Contains(all, "out of range") || !strings.Contains(all, "different part 2") ||
		!strings.Contains(all, "part 3 of a 3-part text among the parts of a 2-part text") {
		t.Errorf("strays %q, want the out-of-range part, the conflicting one and the one with another part count", strays)
	}
	for _, m := range msgs {
		if m.Problem == "" && m.Parts == 3 {
			t.Errorf("the part with another count made a set of its own: %+v", m)
		}
	}
}

func TestTextModeListing(t *testing.T) {
	tests := []struct {
		name string
		info []string
		want bool
	}{
		{"PDU mode", []string{"+CMGL: 1,0,,24", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"}, false},
		{"text mode, received", []string{`+CMGL: 1,"REC UNREAD","+46701234567",,"26/12/01,10:00:00+04"`, "s3cret up"}, true},
		{"text mode, stored", []string{`+CMGL: 2,"STO UNSENT","+46701234567",,`, "hello"}, true},
		{"empty", nil, false},
		{"noise only", []string{"^RSSI:17", "garbage"}, false},
	}
	for _, tt := range tests {
		if got := textModeListing(tt.info); got != tt.want {
			t.Errorf("%s: textModeListing = %v, want %v", tt.name, got, tt.want)
		}
	}
}
