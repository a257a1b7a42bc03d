package modemsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
	"github.com/warthog618/sms/encoding/ucs2"
)

// This file builds the SMS-DELIVER PDUs the simulator stores, formats them
// for +CMGL/+CMGR, and decodes the SMS-SUBMIT PDUs a client sends.

// Type of number of an originating address (3GPP TS 23.040 §9.1.2.5), as
// WithTON takes it.
const (
	TONUnknown       = 0
	TONInternational = 1
	TONNational      = 2
	TONAlphanumeric  = 5
)

// senderAddress builds a TP-OA. ton < 0 picks one from the form of from:
// "+digits" is international, digits alone national, anything else
// alphanumeric.
func senderAddress(from string, ton int) (tpdu.Address, error) {
	if ton < 0 {
		switch {
		case strings.HasPrefix(from, "+") && isDigits(from[1:]):
			ton = TONInternational
		case isDigits(from):
			ton = TONNational
		default:
			ton = TONAlphanumeric
		}
	}
	a := tpdu.NewAddress()
	switch ton {
	case TONInternational, TONNational, TONUnknown:
		digits := from
		if ton == TONInternational {
			digits = strings.TrimPrefix(from, "+")
		}
		if !isDigits(digits) || len(digits) > 20 {
			return a, fmt.Errorf("modemsim: sender %q: not a number", from)
		}
		a.Addr = digits
		a.SetTypeOfNumber(tpdu.TypeOfNumber(ton))
		a.SetNumberingPlan(tpdu.NpISDN)
	case TONAlphanumeric:
		if from == "" || len(from) > 11 {
			return a, fmt.Errorf("modemsim: alphanumeric sender %q: 1 to 11 characters", from)
		}
		a.Addr = from
		a.SetTypeOfNumber(tpdu.TonAlphanumeric)
		a.SetNumberingPlan(tpdu.NpUnknown)
		if _, err := a.MarshalBinary(); err != nil {
			return a, fmt.Errorf("modemsim: alphanumeric sender %q: %w", from, err)
		}
	default:
		return a, fmt.Errorf("modemsim: type of number %d not supported", ton)
	}
	return a, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fixedRef hands the segmenter one concatenation reference.
type fixedRef int

func (r fixedRef) Count() int { return int(r) }

// buildDeliver encodes text (or data, when cfg.data is set) from sender as
// one or more SMS-DELIVER TPDUs, in part order.
func buildDeliver(from string, text string, data []byte, ref int, cfg deliverConfig) ([][]byte, error) {
	oa, err := senderAddress(from, cfg.ton)
	if err != nil {
		return nil, err
	}
	t, err := tpdu.NewDeliver(tpdu.WithOA(oa))
	if err != nil {
		return nil, fmt.Errorf("modemsim: deliver: %w", err)
	}
	// TP-MMS set: no more messages waiting at the centre, as networks send.
	t.FirstOctet |= tpdu.FoMMS
	scts := cfg.scts
	if scts.IsZero() {
		scts = time.Now()
	}
	t.SCTS = tpdu.Timestamp{Time: scts.Truncate(time.Second)}
	if _, off := scts.Zone(); off%(15*60) != 0 {
		return nil, fmt.Errorf("modemsim: SCTS zone offset %ds: not a multiple of 15 minutes", off)
	}

	var ud []byte
	var alpha tpdu.Alphabet
	switch {
	case data != nil:
		ud, alpha = data, tpdu.Alpha8Bit
	case cfg.ucs2 || strings.ContainsRune(text, 0x1b):
		// U+001B is the GSM 7-bit escape code, not a character: the
		// encoder would take it, and the far end read it as a space.
		ud, alpha = ucs2.Encode([]rune(text)), tpdu.AlphaUCS2
	default:
		var udh tpdu.UserDataHeader
		ud, udh, alpha = tpdu.EncodeUserData([]byte(text))
		if udh != nil {
			t.SetUDH(udh)
		}
	}
	if len(ud) == 0 {
		return nil, errors.New("modemsim: deliver: empty message")
	}
	dcs, err := tpdu.DCS(0).WithAlphabet(alpha)
	if err != nil {
		return nil, fmt.Errorf("modemsim: deliver: %w", err)
	}
	t.SetDCS(byte(dcs))
	sopts := []tpdu.SegmentationOption{tpdu.WithConcatRef(fixedRef(ref))}
	if cfg.ref16 {
		sopts = append(sopts, tpdu.With16BitConcatRef)
	}
	segs := t.Segment(ud, sopts...)
	if len(segs) > 255 {
		return nil, fmt.Errorf("modemsim: deliver: %d parts, at most 255", len(segs))
	}
	out := make([][]byte, len(segs))
	for i := range segs {
		b, err := segs[i].MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("modemsim: deliver part %d: %w", i+1, err)
		}
		out[i] = b
	}
	return out, nil
}

// smscPrefix is the SMSC address field that precedes a TPDU in a PDU-mode
// listing.
func smscPrefix(number string) []byte {
	a := pdumode.SMSCAddress{Address: tpdu.NewAddress(tpdu.FromNumber(number))}
	b, err := a.MarshalBinary()
	if err != nil || number == "" {
		return []byte{0}
	}
	return b
}

// pduHex is a stored TPDU as +CMGL/+CMGR print it: SMSC then TPDU, upper
// case hex.
func pduHex(smsc string, t []byte) string {
	return strings.ToUpper(hex.EncodeToString(append(smscPrefix(smsc), t...)))
}

// textView is what text mode (+CMGF=1) shows of a stored DELIVER.
type textView struct {
	OA   string
	SCTS string // "yy/MM/dd,hh:mm:ss±zz"
	Text string
}

func deliverText(b []byte) (textView, error) {
	t, err := sms.Unmarshal(b)
	if err != nil {
		return textView{}, err
	}
	v := textView{OA: t.OA.Number(), SCTS: textSCTS(t.SCTS.Time)}
	if t.OA.TypeOfNumber() == tpdu.TonAlphanumeric {
		v.OA = t.OA.Addr
	}
	if a, _ := t.Alphabet(); a == tpdu.Alpha8Bit {
		v.Text = strings.ToUpper(hex.EncodeToString(t.UD))
		return v, nil
	}
	txt, err := sms.Decode([]*tpdu.TPDU{t})
	if err != nil {
		// A lone part of a UCS-2 text may end half-way through a
		// surrogate pair: show what decodes.
		var ds ucs2.ErrDanglingSurrogate
		if !errors.As(err, &ds) {
			return v, err
		}
	}
	v.Text = string(txt)
	return v, nil
}

// textSCTS formats a timestamp as 27.005 text mode does.
func textSCTS(t time.Time) string {
	_, off := t.Zone()
	q := off / (15 * 60)
	sign := '+'
	if q < 0 {
		sign, q = '-', -q
	}
	return fmt.Sprintf("%s%c%02d", t.Format("06/01/02,15:04:05"), sign, q)
}

// submitPart is one SMS-SUBMIT a client sent with +CMGS.
type submitPart struct {
	raw []byte
	t   *tpdu.TPDU
}

// decodeSubmit checks a +CMGS PDU (SMSC prefix + TPDU) against the length
// the client announced, and decodes it.
func decodeSubmit(hexPDU string, tpduLen int) (submitPart, error) {
	p, err := pdumode.UnmarshalHexString(hexPDU)
	if err != nil {
		return submitPart{}, fmt.Errorf("pdu: %w", err)
	}
	if len(p.TPDU) != tpduLen {
		return submitPart{}, fmt.Errorf("pdu: %d octets after the SMSC, +CMGS said %d", len(p.TPDU), tpduLen)
	}
	t, err := sms.Unmarshal(p.TPDU, sms.AsMO)
	if err != nil {
		return submitPart{}, fmt.Errorf("pdu: %w", err)
	}
	if t.SmsType() != tpdu.SmsSubmit {
		return submitPart{}, fmt.Errorf("pdu: %v, want SMS-SUBMIT", t.SmsType())
	}
	if a, _ := t.Alphabet(); a != tpdu.Alpha8Bit {
		if _, err := sms.Decode([]*tpdu.TPDU{t}); err != nil {
			var ds ucs2.ErrDanglingSurrogate
			if !errors.As(err, &ds) {
				return submitPart{}, fmt.Errorf("pdu: user data: %w", err)
			}
		}
	}
	return submitPart{raw: p.TPDU, t: t}, nil
}

// assembler puts sent parts back together, keyed by destination and
// concatenation reference.
type assembler struct {
	pending map[string][]*submitPart
}

// add takes one part and returns the whole message once every part is in.
func (a *assembler) add(p submitPart) (*Sent, error) {
	segs, seq, ref, ok := p.t.ConcatInfo()
	if !ok || segs < 2 {
		return finish([]*submitPart{&p})
	}
	if seq < 1 || seq > segs {
		return nil, fmt.Errorf("pdu: part %d of %d", seq, segs)
	}
	if a.pending == nil {
		a.pending = make(map[string][]*submitPart)
	}
	key := fmt.Sprintf("%02x:%s:%d:%d", p.t.DA.TOA, p.t.DA.Addr, ref, segs)
	parts := a.pending[key]
	if parts == nil {
		parts = make([]*submitPart, segs)
		a.pending[key] = parts
	}
	parts[seq-1] = &p // a repeat replaces: clients retry a part after a timeout
	for _, q := range parts {
		if q == nil {
			return nil, nil
		}
	}
	delete(a.pending, key)
	return finish(parts)
}

// pendingParts is how many parts wait for the rest of their message.
func (a *assembler) pendingParts() int {
	n := 0
	for _, ps := range a.pending {
		for _, p := range ps {
			if p != nil {
				n++
			}
		}
	}
	return n
}

func finish(parts []*submitPart) (*Sent, error) {
	tp := make([]*tpdu.TPDU, len(parts))
	s := &Sent{Parts: len(parts), At: time.Now()}
	for i, p := range parts {
		tp[i] = p.t
		s.PDUs = append(s.PDUs, p.raw)
	}
	s.To = tp[0].DA.Number()
	if a, _ := tp[0].Alphabet(); a == tpdu.Alpha8Bit {
		for _, t := range tp {
			s.Data = append(s.Data, t.UD...)
		}
		return s, nil
	}
	txt, err := sms.Decode(tp)
	if err != nil {
		return nil, fmt.Errorf("pdu: user data: %w", err)
	}
	s.Text = string(txt)
	return s, nil
}

// partOrder applies WithPartOrder and WithoutParts to n parts, returning
// 0-based part numbers in storage order.
func partOrder(n int, cfg deliverConfig) ([]int, error) {
	order := make([]int, 0, n)
	if cfg.order != nil {
		seen := map[int]bool{}
		for _, p := range cfg.order {
			if p < 1 || p > n || seen[p] {
				return nil, fmt.Errorf("modemsim: part order %v: not a permutation of 1..%d", cfg.order, n)
			}
			seen[p] = true
			order = append(order, p-1)
		}
		if len(order) != n {
			return nil, fmt.Errorf("modemsim: part order %v: not a permutation of 1..%d", cfg.order, n)
		}
	} else {
		for i := 0; i < n; i++ {
			order = append(order, i)
		}
	}
	if len(cfg.without) == 0 {
		return order, nil
	}
	skip := map[int]bool{}
	for _, p := range cfg.without {
		if p < 1 || p > n {
			return nil, fmt.Errorf("modemsim: without part %d: message has %d", p, n)
		}
		skip[p-1] = true
	}
	kept := order[:0]
	for _, p := range order {
		if !skip[p] {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

// encodeTextSubmit makes the SMS-SUBMIT a text-mode +CMGS stands for.
func encodeTextSubmit(da, text string) (submitPart, error) {
	if text == "" {
		return submitPart{}, errors.New("text: empty")
	}
	if !isDigits(strings.TrimPrefix(da, "+")) {
		return submitPart{}, fmt.Errorf("text: destination %q", da)
	}
	pdus, err := sms.Encode([]byte(text), sms.To(da))
	if err != nil {
		return submitPart{}, fmt.Errorf("text: %w", err)
	}
	if len(pdus) != 1 {
		return submitPart{}, fmt.Errorf("text: %d parts, text mode sends one", len(pdus))
	}
	if !strings.HasPrefix(da, "+") {
		pdus[0].DA.SetTypeOfNumber(tpdu.TonUnknown)
	}
	raw, err := pdus[0].MarshalBinary()
	if err != nil {
		return submitPart{}, fmt.Errorf("text: %w", err)
	}
	return submitPart{raw: raw, t: &pdus[0]}, nil
}

func unmarshalDeliver(b []byte) (*tpdu.TPDU, error) { return sms.Unmarshal(b) }
