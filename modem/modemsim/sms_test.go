package modemsim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// listed is one +CMGL entry decoded the way a client would.
type listed struct {
	index, stat int
	smsc        string
	t           *tpdu.TPDU
}

var cmglHead = regexp.MustCompile(`^\+CMGL: (\d+),(\d),,(\d+)$`)

// listPDU runs +CMGL=<stat> in PDU mode and decodes every entry with
// warthog618/sms.
func listPDU(t *testing.T, c *client, stat int) []listed {
	t.Helper()
	ls := lines(c.cmd(fmt.Sprintf("AT+CMGL=%d", stat)))
	if ls[len(ls)-1] != "OK" {
		t.Fatalf("+CMGL: %q", ls)
	}
	var out []listed
	ls = ls[:len(ls)-1]
	for i := 0; i < len(ls); i += 2 {
		m := cmglHead.FindStringSubmatch(ls[i])
		if m == nil || i+1 >= len(ls) {
			t.Fatalf("+CMGL entry %q", ls[i:])
		}
		p, err := pdumode.UnmarshalHexString(ls[i+1])
		if err != nil {
			t.Fatalf("PDU %q: %v", ls[i+1], err)
		}
		if n, _ := strconv.Atoi(m[3]); n != len(p.TPDU) {
			t.Errorf("+CMGL length %d, TPDU is %d octets", n, len(p.TPDU))
		}
		tp, err := sms.Unmarshal(p.TPDU)
		if err != nil {
			t.Fatalf("TPDU %q: %v", ls[i+1], err)
		}
		idx, _ := strconv.Atoi(m[1])
		st, _ := strconv.Atoi(m[2])
		out = append(out, listed{idx, st, p.SMSC.Number(), tp})
	}
	return out
}

// reassemble groups listed parts by reference and decodes each message.
func reassemble(t *testing.T, ls []listed) (texts []string, complete []bool) {
	t.Helper()
	groups := map[int][]*tpdu.TPDU{}
	var refs []int
	for _, l := range ls {
		n, seq, ref, ok := l.t.ConcatInfo()
		if !ok {
			n, seq, ref = 1, 1, -1-l.index
		}
		if groups[ref] == nil {
			groups[ref] = make([]*tpdu.TPDU, n)
			refs = append(refs, ref)
		}
		groups[ref][seq-1] = l.t
	}
	for _, ref := range refs {
		g := groups[ref]
		var have []*tpdu.TPDU
		for _, p := range g {
			if p != nil {
				have = append(have, p)
			}
		}
		txt, err := sms.Decode(have)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		texts = append(texts, string(txt))
		complete = append(complete, len(have) == len(g))
	}
	return texts, complete
}

func TestDeliverAndList(t *testing.T) {
	zone := time.FixedZone("", 2*3600)
	scts := time.Date(2026, 11, 23, 21, 30, 15, 0, zone)
	tests := []struct {
		name, from, text string
		opts             []DeliverOption
		wantFrom         string
		wantTON          tpdu.TypeOfNumber
		wantAlpha        tpdu.Alphabet
	}{
		{"gsm7", "+46701234567", "hunter2 up 45m", nil, "+46701234567", tpdu.TonInternational, tpdu.Alpha7Bit},
		{"gsm7 extension table", "+46701234567", "price: 5€ [ok] {x} ~^|\\", nil, "+46701234567", tpdu.TonInternational, tpdu.Alpha7Bit},
		{"ucs2 needed", "+46701234567", "Grüße 😀 добрый", nil, "+46701234567", tpdu.TonInternational, tpdu.AlphaUCS2},
		{"ucs2 asked", "+46701234567", "plain", []DeliverOption{AsUCS2()}, "+46701234567", tpdu.TonInternational, tpdu.AlphaUCS2},
		{"national", "0701234567", "hi", nil, "0701234567", tpdu.TonNational, tpdu.Alpha7Bit},
		{"unknown TON", "0701234567", "hi", []DeliverOption{WithTON(TONUnknown)}, "0701234567", tpdu.TonUnknown, tpdu.Alpha7Bit},
		{"alphanumeric", "Telia", "Your bill", nil, "Telia", tpdu.TonAlphanumeric, tpdu.Alpha7Bit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t)
			c := quietClient(t, s)
			idx, err := s.Deliver(tt.from, tt.text, append(tt.opts, WithSCTS(scts))...)
			if err != nil || len(idx) != 1 || idx[0] != 0 {
				t.Fatalf("Deliver: %v, %v", idx, err)
			}
			ls := listPDU(t, c, 4)
			if len(ls) != 1 {
				t.Fatalf("listed %d, want 1", len(ls))
			}
			l := ls[0]
			if l.index != 0 || l.stat != 0 || l.smsc != "+46705008999" {
				t.Errorf("index %d stat %d smsc %q", l.index, l.stat, l.smsc)
			}
			if l.t.SmsType() != tpdu.SmsDeliver {
				t.Errorf("type %v", l.t.SmsType())
			}
			from := l.t.OA.Number()
			if tt.wantTON == tpdu.TonAlphanumeric {
				from = l.t.OA.Addr
			}
			if from != tt.wantFrom || l.t.OA.TypeOfNumber() != tt.wantTON {
				t.Errorf("sender %q TON %d, want %q TON %d", from, l.t.OA.TypeOfNumber(), tt.wantFrom, tt.wantTON)
			}
			if !l.t.SCTS.Equal(scts) {
				t.Errorf("SCTS %v, want %v", l.t.SCTS, scts)
			}
			if _, off := l.t.SCTS.Zone(); off != 2*3600 {
				t.Errorf("SCTS zone offset %d", off)
			}
			if a, _ := l.t.Alphabet(); a != tt.wantAlpha {
				t.Errorf("alphabet %v, want %v", a, tt.wantAlpha)
			}
			txt, err := sms.Decode([]*tpdu.TPDU{l.t})
			if err != nil || string(txt) != tt.text {
				t.Errorf("text %q (%v), want %q", txt, err, tt.text)
			}
			// Listing marked it read: no longer unread, still there.
			if n := len(listPDU(t, c, 0)); n != 0 {
				t.Errorf("%d unread after listing", n)
			}
			if ls := listPDU(t, c, 1); len(ls) != 1 || ls[0].stat != 1 {
				t.Errorf("read list: %+v", ls)
			}
			// +CMGR shows the same PDU.
			r := lines(c.cmd("AT+CMGR=0"))
			if len(r) != 3 || !strings.HasPrefix(r[0], "+CMGR: 1,,") || r[2] != "OK" {
				t.Fatalf("+CMGR: %q", r)
			}
			if r[1] != pduHex("+46705008999", mustMarshal(t, l.t)) {
				t.Errorf("+CMGR PDU %s differs from the listing", r[1])
			}
		})
	}
}

func mustMarshal(t *testing.T, tp *tpdu.TPDU) []byte {
	b, err := tp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMultipart(t *testing.T) {
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8) // 360 chars: 3 parts
	longUCS2 := strings.Repeat("Привет, мир! ", 12)                            // 156 chars: 3 parts
	tests := []struct {
		name         string
		text         string
		opts         []DeliverOption
		wantParts    int
		wantIE       byte
		wantComplete bool
		wantText     string
	}{
		{"8-bit ref", long, nil, 3, 0x00, true, long},
		{"16-bit ref", long, []DeliverOption{With16BitRef(), WithConcatRef(0x1234)}, 3, 0x08, true, long},
		{"parts out of order", long, []DeliverOption{WithPartOrder([]int{3, 1, 2})}, 3, 0x00, true, long},
		{"ucs2", longUCS2, []DeliverOption{WithPartOrder([]int{2, 3, 1})}, 3, 0x00, true, longUCS2},
		{"incomplete", long, []DeliverOption{WithoutParts(2)}, 2, 0x00, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t)
			c := quietClient(t, s)
			idx, err := s.Deliver("+46701234567", tt.text, tt.opts...)
			if err != nil || len(idx) != tt.wantParts {
				t.Fatalf("Deliver: %v, %v", idx, err)
			}
			ls := listPDU(t, c, 4)
			if len(ls) != tt.wantParts {
				t.Fatalf("listed %d parts", len(ls))
			}
			var seqs []int
			for _, l := range ls {
				if _, ok := l.t.UDH.IE(tt.wantIE); !ok {
					t.Errorf("part at %d has no IE %#x: %+v", l.index, tt.wantIE, l.t.UDH)
				}
				_, seq, ref, _ := l.t.ConcatInfo()
				if tt.wantIE == 0x08 && ref != 0x1234 {
					t.Errorf("16-bit ref %#x", ref)
				}
				seqs = append(seqs, seq)
			}
			if o := orderOf(tt.opts); o != nil && fmt.Sprint(seqs) != fmt.Sprint(o) {
				t.Errorf("storage order %v, want %v", seqs, o)
			}
			texts, complete := reassemble(t, ls)
			if len(texts) != 1 || complete[0] != tt.wantComplete {
				t.Fatalf("reassembled %d messages, complete %v", len(texts), complete)
			}
			if tt.wantComplete && texts[0] != tt.wantText {
				t.Errorf("text %q, want %q", texts[0], tt.wantText)
			}
		})
	}
}

func orderOf(opts []DeliverOption) []int {
	var c deliverConfig
	for _, o := range opts {
		o(&c)
	}
	return c.order
}

func TestDeliverData(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	data := []byte{0x00, 0x01, 0xfe, 0xff, 0x1a, 0x1b}
	if _, err := s.DeliverData("+46701234567", data); err != nil {
		t.Fatal(err)
	}
	ls := listPDU(t, c, 4)
	if len(ls) != 1 {
		t.Fatalf("listed %d", len(ls))
	}
	if a, _ := ls[0].t.Alphabet(); a != tpdu.Alpha8Bit || hex.EncodeToString(ls[0].t.UD) != hex.EncodeToString(data) {
		t.Errorf("alphabet %v data %x", a, ls[0].t.UD)
	}
	// A raw TPDU goes in as given.
	raw := mustMarshal(t, ls[0].t)
	i, err := s.DeliverPDU(raw)
	if err != nil || i != 1 {
		t.Fatalf("DeliverPDU: %d, %v", i, err)
	}
	if got, _, _ := s.StoredPDU(1); hex.EncodeToString(got) != hex.EncodeToString(raw) {
		t.Errorf("stored %x, want %x", got, raw)
	}
	if _, err := s.DeliverPDU([]byte{0x04}); err == nil {
		t.Error("DeliverPDU took a truncated TPDU")
	}
}

func TestDeliverErrors(t *testing.T) {
	s := newSimulator(t)
	for _, tt := range []struct {
		name, from, text string
		opts             []DeliverOption
	}{
		{"empty", "+4670", "", nil},
		{"bad number", "+46x70", "hi", []DeliverOption{WithTON(TONInternational)}},
		{"long alphanumeric", "ABCDEFGHIJKL", "hi", nil},
		{"bad order", "+4670", strings.Repeat("x", 200), []DeliverOption{WithPartOrder([]int{1, 1})}},
		{"bad without", "+4670", "x", []DeliverOption{WithoutParts(2)}},
		{"odd zone", "+4670", "x", []DeliverOption{WithSCTS(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 100)))}},
	} {
		if _, err := s.Deliver(tt.from, tt.text, tt.opts...); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if n := len(s.Stored()); n != 0 {
		t.Errorf("%d stored after failed deliveries", n)
	}
}

func TestStorageFull(t *testing.T) {
	s := newSimulator(t, WithCapacity(3))
	c := quietClient(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0")
	long := strings.Repeat("x", 200) // 2 parts
	if idx, err := s.Deliver("+46701234567", long); err != nil || fmt.Sprint(idx) != "[0 1]" {
		t.Fatalf("first: %v, %v", idx, err)
	}
	idx, err := s.Deliver("+46701234567", long)
	if !errors.Is(err, ErrStorageFull) || fmt.Sprint(idx) != "[2]" {
		t.Fatalf("second: %v, %v", idx, err)
	}
	if s.Dropped() != 1 {
		t.Errorf("Dropped %d, want 1", s.Dropped())
	}
	// One +CMTI per stored part, none for the dropped one.
	got := c.until(`+CMTI: "SM",2` + "\r\n")
	if n := strings.Count(got, "+CMTI:"); n != 3 {
		t.Errorf("%d +CMTI, want 3: %q", n, got)
	}
	if r := lines(c.cmd("AT+CPMS?")); r[0] != `+CPMS: "SM",3,3,"SM",3,3,"SM",3,3` {
		t.Errorf("+CPMS?: %q", r)
	}
	if r := c.cmd("AT+CMGD=1"); r != "\r\nOK\r\n" {
		t.Fatalf("+CMGD=1: %q", r)
	}
	if idx, err := s.Deliver("+46701234567", "fits"); err != nil || fmt.Sprint(idx) != "[1]" {
		t.Fatalf("after delete: %v, %v", idx, err)
	}
	c.until(`+CMTI: "SM",1` + "\r\n")
	if r := c.cmd("AT+CMGD=0,4"); r != "\r\nOK\r\n" || len(s.Stored()) != 0 {
		t.Fatalf("+CMGD=0,4: %q, stored %v", r, s.Stored())
	}
}

func TestCMGDFlags(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	for i := 0; i < 3; i++ {
		s.Deliver("+4670", fmt.Sprint("m", i))
	}
	c.cmd("AT+CMGR=1") // read: stat 1
	c.cmd("AT+CMGD=0,1")
	if got := fmt.Sprint(s.Stored()); got != "[0 2]" {
		t.Errorf("after flag 1: %s", got)
	}
	if r := lines(c.cmd("AT+CMGD=?")); r[0] != "+CMGD: (0,2),(0-4)" {
		t.Errorf("+CMGD=?: %q", r)
	}
}

func TestCMTI(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	s.Deliver("+4670", "no indication")
	c.quiet(100 * time.Millisecond)
	c.cmd("AT+CNMI=2,1,0,0,0")
	s.Deliver("+4670", "indicated")
	if got := c.until("\r\n"); got != "\r\n" {
		t.Fatalf("before URC: %q", got)
	}
	if got := c.until("\r\n"); got != `+CMTI: "SM",1`+"\r\n" {
		t.Fatalf("URC: %q", got)
	}
	c.cmd("AT+CNMI=2,0,0,0,0")
	s.Deliver("+4670", "mt 0")
	c.quiet(100 * time.Millisecond)
}

func TestTextMode(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	scts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600))
	s.Deliver("+46701234567", "hello text mode", WithSCTS(scts))
	c.cmd("AT+CMGF=1")
	r := lines(c.cmd(`AT+CMGL="ALL"`))
	want := []string{`+CMGL: 0,"REC UNREAD","+46701234567",,"26/01/02,03:04:05-20"`, "hello text mode", "OK"}
	if strings.Join(r, "|") != strings.Join(want, "|") {
		t.Fatalf("text +CMGL:\n got %q\nwant %q", r, want)
	}
	if r := lines(c.cmd(`AT+CMGL="REC UNREAD"`)); len(r) != 1 {
		t.Errorf("still unread: %q", r)
	}
	if r := lines(c.cmd("AT+CMGR=0")); r[0] != `+CMGR: "REC READ","+46701234567",,"26/01/02,03:04:05-20"` {
		t.Errorf("text +CMGR: %q", r)
	}
	if r := lines(c.cmd("AT+CMGL=4")); r[0] != "+CMS ERROR: invalid text mode parameter" {
		t.Errorf("numeric stat in text mode: %q", r)
	}
}

// submitPDUs encodes text for number as a client would, with SMSC "00".
func submitPDUs(t *testing.T, number, text string) []string {
	t.Helper()
	pdus, err := sms.Encode([]byte(text), sms.To(number), sms.WithAllCharsets)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pdus {
		b := mustMarshal(t, &p)
		out = append(out, fmt.Sprintf("%d:00%X", len(b), b))
	}
	return out
}

func sendPDU(t *testing.T, c *client, lenHex string) string {
	t.Helper()
	n, hx, _ := strings.Cut(lenHex, ":")
	if got := c.cmd("AT+CMGS=" + n); got != "\r\n> " {
		t.Fatalf("prompt: %q", got)
	}
	c.send(hx + "\x1a")
	return c.reply()
}

func TestCMGS(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	long := "Link up until 22:30. " + strings.Repeat("Everything is fine. ", 12) + "€"
	for _, text := range []string{"hello", long, "Привет 😀"} {
		for _, p := range submitPDUs(t, "+46701234567", text) {
			if r := lines(sendPDU(t, c, p)); len(r) != 2 || !strings.HasPrefix(r[0], "+CMGS: ") || r[1] != "OK" {
				t.Fatalf("+CMGS: %q", r)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sent, err := s.WaitSent(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 3 {
		t.Fatalf("sent %d", len(sent))
	}
	for i, want := range []struct {
		text  string
		parts int
	}{{"hello", 1}, {long, 2}, {"Привет 😀", 1}} {
		if sent[i].Text != want.text || sent[i].Parts != want.parts || len(sent[i].PDUs) != want.parts || sent[i].To != "+46701234567" {
			t.Errorf("sent[%d] = %q to %s in %d parts, want %q in %d", i, sent[i].Text, sent[i].To, sent[i].Parts, want.text, want.parts)
		}
	}

	// ESC cancels; a wrong length or a broken PDU is refused.
	p := submitPDUs(t, "+46701234567", "cancelled")[0]
	n, hx, _ := strings.Cut(p, ":")
	c.cmd("AT+CMGS=" + n)
	c.send(hx + "\x1b")
	if r := c.reply(); r != "\r\nOK\r\n" {
		t.Errorf("ESC: %q", r)
	}
	nn, _ := strconv.Atoi(n)
	if got := c.cmd("AT+CMGS=" + strconv.Itoa(nn+1)); got != "\r\n> " {
		t.Fatalf("prompt: %q", got)
	}
	c.send(hx + "\x1a")
	if r := lines(c.reply()); r[0] != "+CMS ERROR: invalid PDU mode parameter" {
		t.Errorf("wrong length: %q", r)
	}
	c.cmd("AT+CMGS=" + n)
	c.send("00ZZ\x1a")
	if r := lines(c.reply()); r[0] != "+CMS ERROR: invalid PDU mode parameter" {
		t.Errorf("bad hex: %q", r)
	}
	if got := len(s.Sent()); got != 3 {
		t.Errorf("%d sent after refusals", got)
	}
	s.SetRegistration(0)
	if r := lines(c.cmd("AT+CMGS=" + n)); r[0] != "+CMS ERROR: no network service" {
		t.Errorf("unregistered: %q", r)
	}
}

func TestCMGSEcho(t *testing.T) {
	s := newSimulator(t)
	c := dial(t, s)
	p := submitPDUs(t, "+46701234567", "echoed")[0]
	n, hx, _ := strings.Cut(p, ":")
	if got := c.cmd("AT+CMGS=" + n); got != "AT+CMGS="+n+"\r\r\n> " {
		t.Fatalf("prompt with echo: %q", got)
	}
	c.send(hx + "\x1a")
	if got := c.reply(); !strings.HasPrefix(got, hx+"\r\n+CMGS: ") {
		t.Fatalf("echoed body: %q", got)
	}
}

func TestCMGSTextMode(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	c.cmd("AT+CMGF=1")
	if got := c.cmd(`AT+CMGS="+46701234567"`); got != "\r\n> " {
		t.Fatalf("prompt: %q", got)
	}
	c.send("link down after 30m\x1a")
	if r := lines(c.reply()); len(r) != 2 || r[0] != "+CMGS: 1" {
		t.Fatalf("text +CMGS: %q", r)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].Text != "link down after 30m" || sent[0].To != "+46701234567" || sent[0].Parts != 1 {
		t.Fatalf("sent %+v", sent)
	}
	tp, err := sms.Unmarshal(sent[0].PDUs[0], sms.AsMO)
	if err != nil || tp.SmsType() != tpdu.SmsSubmit {
		t.Fatalf("recorded PDU: %v %v", tp, err)
	}
}

func TestWaitSentContext(t *testing.T) {
	s := newSimulator(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WaitSent(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitSent: %v", err)
	}
}

func TestStoredSorted(t *testing.T) {
	s := newSimulator(t)
	for i := 0; i < 4; i++ {
		s.Deliver("+4670", "x")
	}
	got := s.Stored()
	if !sort.IntsAreSorted(got) || len(got) != 4 {
		t.Fatalf("Stored %v", got)
	}
}
