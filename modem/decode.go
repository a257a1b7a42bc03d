package modem

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// stored is one storage slot as +CMGL lists it.
type stored struct {
	index  int
	stat   int
	length int    // TPDU octets, from the header
	pdu    string // hex, with the SMSC prefix
}

// parseCMGL picks the "+CMGL:" header lines and the PDU line after each
// out of a reply, skipping unsolicited lines wherever they fall.
func parseCMGL(info []string) (entries []stored, problems []error) {
	for i := 0; i < len(info); i++ {
		l := strings.TrimSpace(info[i])
		if !strings.HasPrefix(l, "+CMGL:") {
			continue
		}
		h, err := parseCMGLHeader(l[len("+CMGL:"):])
		if err != nil {
			problems = append(problems, err)
			continue
		}
		// The PDU is the next hex line; a URC may sit in between.
		for j := i + 1; j < len(info); j++ {
			p := strings.TrimSpace(info[j])
			if strings.HasPrefix(p, "+CMGL:") {
				problems = append(problems, fmt.Errorf("+CMGL: index %d: no PDU line", h.index))
				i = j - 1
				break
			}
			if isHex(p) {
				entries = append(entries, stored{index: h.index, stat: h.stat, length: h.length, pdu: p})
				i = j
				break
			}
		}
	}
	return entries, problems
}

// textModeListing reports whether a listing is in text mode (+CMGF=1):
// its headers give the status as a quoted word ("REC UNREAD"), where PDU
// mode gives a number. A modem that answers +CMGL=4 so has lost PDU mode.
func textModeListing(info []string) bool {
	for _, l := range info {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, "+CMGL:"); ok {
			if f := splitCSV(rest); len(f) > 1 && (strings.HasPrefix(f[1], "REC ") || strings.HasPrefix(f[1], "STO ")) {
				return true
			}
		}
	}
	return false
}

func isHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// part is one decoded SMS-DELIVER.
type part struct {
	index int
	tp    *tpdu.TPDU
}

// decodeStored decodes one PDU (with SMSC prefix). Sent and unsent
// messages (stat 2, 3) are SMS-SUBMITs.
func decodeStored(e stored) (*tpdu.TPDU, error) {
	p, err := pdumode.UnmarshalHexString(e.pdu)
	if err != nil {
		return nil, fmt.Errorf("PDU: %w", err)
	}
	if e.stat == 2 || e.stat == 3 {
		return nil, fmt.Errorf("stored outgoing message (stat %d)", e.stat)
	}
	tp, err := sms.Unmarshal(p.TPDU)
	if err != nil {
		return nil, fmt.Errorf("TPDU: %w", err)
	}
	if tp.SmsType() != tpdu.SmsDeliver {
		return nil, fmt.Errorf("%v, not an SMS-DELIVER", tp.SmsType())
	}
	return tp, nil
}

// assemble decodes stored entries into messages, joining the parts of
// concatenated messages (parts in any order). Parts belong together only
// when they agree on the sender (number and type of number), the
// reference and its width, the part count and the alphabet; a part whose
// number is out of range, or that differs from another with the same
// number, stands alone with Problem set. So does a slot that cannot be
// decoded: such messages come back binary, for the caller to log and
// delete.
func assemble(entries []stored) []Message {
	type key struct {
		sender      string
		ton         TON
		ref         int
		is16, alpha int
	}
	groups := map[key][]part{}
	var order []key
	var msgs []Message
	for _, e := range entries {
		tp, err := decodeStored(e)
		if err != nil {
			raw, _ := hex.DecodeString(e.pdu)
			msgs = append(msgs, Message{Indexes: []int{e.index}, Encoding: EncodingBinary, Data: raw,
				Parts: 1, Have: 1, Complete: true, Problem: err.Error()})
			continue
		}
		total, seq, ref, ok := tp.ConcatInfo()
		if !ok || total <= 1 {
			msgs = append(msgs, single(e.index, tp))
			continue
		}
		if seq < 1 || seq > total {
			msgs = append(msgs, stray(e.index, tp, fmt.Sprintf("part %d of a %d-part text: out of range", seq, total)))
			continue
		}
		a, _ := tp.Alphabet()
		k := key{sender: tp.OA.Number(), ton: TON(tp.OA.TypeOfNumber()), ref: ref, is16: concat16(tp), alpha: int(a)}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], part{index: e.index, tp: tp})
	}
	for _, k := range order {
		msgs = append(msgs, joined(groups[k])...)
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		if !msgs[i].SCTS.Equal(msgs[j].SCTS) {
			return msgs[i].SCTS.Before(msgs[j].SCTS)
		}
		return firstIndex(msgs[i]) < firstIndex(msgs[j])
	})
	return msgs
}

func firstIndex(m Message) int {
	if len(m.Indexes) == 0 {
		return -1
	}
	return m.Indexes[0]
}

// concat16 tells 16-bit references (IEI 8) from 8-bit ones (IEI 0), so
// that two messages whose references differ only above 255 stay apart.
func concat16(tp *tpdu.TPDU) int {
	for _, ie := range tp.UDH {
		if ie.ID == 8 {
			return 1
		}
	}
	return 0
}

func header(tp *tpdu.TPDU) Message {
	m := Message{
		Sender:    tp.OA.Number(),
		SenderTON: TON(tp.OA.TypeOfNumber()),
		SCTS:      tp.SCTS.Time,
	}
	return m
}

// stray is a part that cannot belong to any set: binary, with why.
func stray(index int, tp *tpdu.TPDU, problem string) Message {
	m := header(tp)
	m.Indexes = []int{index}
	m.Parts, m.Have, m.Complete = 1, 1, true
	m.Encoding, m.Data, m.Problem = EncodingBinary, append([]byte(nil), tp.UD...), problem
	return m
}

func single(index int, tp *tpdu.TPDU) Message {
	m := header(tp)
	m.Indexes = []int{index}
	m.Parts, m.Have, m.Complete = 1, 1, true
	fill(&m, []*tpdu.TPDU{tp})
	return m
}

// fill decodes the text (or data) of parts, which are in order.
func fill(m *Message, tps []*tpdu.TPDU) {
	a, err := tps[0].Alphabet()
	switch {
	case err != nil || a == tpdu.Alpha8Bit:
		m.Encoding = EncodingBinary
		for _, tp := range tps {
			m.Data = append(m.Data, tp.UD...)
		}
		if err != nil {
			m.Problem = fmt.Sprintf("data coding scheme %#02x: %v", byte(tps[0].DCS), err)
		}
		return
	case a == tpdu.AlphaUCS2:
		m.Encoding = EncodingUCS2
	default:
		m.Encoding = EncodingGSM7
	}
	txt, err := sms.Decode(tps)
	if err != nil && !m.Complete {
		// Gaps can split a surrogate pair: decode what stands alone.
		var b strings.Builder
		for _, tp := range tps {
			if t, err := sms.Decode([]*tpdu.TPDU{tp}); err == nil {
				b.Write(t)
			}
		}
		txt, err = []byte(b.String()), nil
	}
	if err != nil {
		m.Problem = fmt.Sprintf("decode %s text: %v", m.Encoding, err)
		m.Encoding = EncodingBinary
		for _, tp := range tps {
			m.Data = append(m.Data, tp.UD...)
		}
		return
	}
	m.Text = string(txt)
}

// joined builds one message from the stored parts of a concatenated
// message. The oldest part sets the part count; a part that gives another
// count stands alone, with Problem set. A part delivered twice (networks
// do) is kept as an index to delete but decoded once; a part with the
// number of another but other content stands alone, with Problem set.
func joined(parts []part) []Message {
	oldestPart := parts[0]
	for _, p := range parts[1:] {
		if p.tp.SCTS.Time.Before(oldestPart.tp.SCTS.Time) {
			oldestPart = p
		}
	}
	total, _, _, _ := oldestPart.tp.ConcatInfo()
	var strays []Message
	agree := parts[:0:0]
	for _, p := range parts {
		if t, s, _, _ := p.tp.ConcatInfo(); t != total {
			strays = append(strays, stray(p.index, p.tp, fmt.Sprintf("part %d of a %d-part text among the parts of a %d-part text", s, t, total)))
			continue
		}
		agree = append(agree, p)
	}
	parts = agree
	sort.SliceStable(parts, func(i, j int) bool { return seqOf(parts[i].tp) < seqOf(parts[j].tp) })
	var tps []*tpdu.TPDU
	var idx []int
	var oldest time.Time
	last := 0
	for _, p := range parts {
		if s := seqOf(p.tp); s == last {
			if !bytes.Equal(p.tp.UD, tps[len(tps)-1].UD) {
				strays = append(strays, stray(p.index, p.tp, fmt.Sprintf("a second, different part %d of %d", s, total)))
				continue
			}
		} else {
			tps = append(tps, p.tp)
			last = s
		}
		idx = append(idx, p.index)
		if t := p.tp.SCTS.Time; oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	m := header(parts[0].tp)
	m.SCTS = oldest // an incomplete set is aged by its oldest part
	m.Indexes = idx
	m.Parts, m.Have = total, len(tps)
	m.Complete = m.Have == m.Parts
	fill(&m, tps)
	return append([]Message{m}, strays...)
}

func seqOf(tp *tpdu.TPDU) int {
	_, seq, _, _ := tp.ConcatInfo()
	return seq
}
