package modemsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ControlHelp describes the control commands Control understands.
const ControlHelp = `commands:
  sms [FLAGS] FROM TEXT...   deliver a text (GSM 7-bit, or UCS-2 when needed; split when long)
      flags: --ucs2  --ref16  --order 2,1,3  --without 2  --ton N  --scts 2026-01-02T15:04:05+01:00  --ref N
  sms-ucs2 FROM TEXT...      deliver a text as UCS-2
  data FROM HEX              deliver 8-bit data
  pdu HEX                    store a raw SMS-DELIVER TPDU (no SMSC prefix)
  stored                     list the occupied storage slots
  delete INDEX|all           empty a slot, or all of them
  sent                       list what clients sent with +CMGS
  noise on|off               unsolicited lines between echo and reply
  delay DURATION             delay every final result code (0 for none)
  silent on|off              a hung modem: read everything, answer nothing
  garbage [TEXT]             raw bytes on the line (default: a burst of junk)
  reset                      as AT+CFUN=1,1: quiet, boot noise, PIN again
  signal N                   +CSQ rssi (0-31, 99 unknown)
  reg N                      registration (0 none, 1 home, 2 searching, 3 denied, 5 roaming)
  operator NAME              network name
  pin PIN|off                lock the SIM with PIN from the next reset, or unlock it
  status                     knobs and counters
  help                       this text`

// errUsage marks a control line that could not be understood.
var errUsage = errors.New("usage")

// Control runs one control command (see ControlHelp) and returns what to
// print. An empty line does nothing.
func (s *Simulator) Control(line string) (string, error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil
	}
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimLeft(rest, " ")
	switch strings.ToLower(verb) {
	case "help", "?":
		return ControlHelp, nil
	case "sms", "sms-ucs2":
		from, text, opts, err := parseSMSArgs(rest)
		if err != nil {
			return "", err
		}
		if strings.ToLower(verb) == "sms-ucs2" {
			opts = append(opts, AsUCS2())
		}
		idx, err := s.Deliver(from, text, opts...)
		return deliveredLine(idx, err)
	case "data":
		from, hx, ok := strings.Cut(rest, " ")
		b, err := hex.DecodeString(strings.TrimSpace(hx))
		if !ok || err != nil || len(b) == 0 {
			return "", fmt.Errorf("%w: data FROM HEX", errUsage)
		}
		idx, err := s.DeliverData(from, b)
		return deliveredLine(idx, err)
	case "pdu":
		b, err := hex.DecodeString(rest)
		if err != nil || len(b) == 0 {
			return "", fmt.Errorf("%w: pdu HEX", errUsage)
		}
		i, err := s.DeliverPDU(b)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("stored at %d", i), nil
	case "stored":
		return s.storedText(), nil
	case "delete":
		return s.controlDelete(rest)
	case "sent":
		return sentText(s.Sent()), nil
	case "noise", "silent":
		on, err := onOff(rest)
		if err != nil {
			return "", err
		}
		if strings.ToLower(verb) == "noise" {
			s.SetNoise(on)
		} else {
			s.SetSilent(on)
		}
		return fmt.Sprintf("%s %s", strings.ToLower(verb), rest), nil
	case "delay":
		d, err := time.ParseDuration(rest)
		if rest == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 || d > time.Hour {
			return "", fmt.Errorf("%w: delay DURATION (e.g. 3s, 0)", errUsage)
		}
		s.SetDelay(d)
		return "delay " + d.String(), nil
	case "garbage":
		b := []byte(rest)
		if len(b) == 0 {
			b = []byte("\x00\xff\r\n~\x1b[0m#\xfe")
		}
		s.InjectGarbage(b)
		return fmt.Sprintf("%d bytes of garbage", len(b)), nil
	case "reset":
		s.Reset()
		return "reset", nil
	case "signal":
		n, err := strconv.Atoi(rest)
		if err != nil || !(n >= 0 && n <= 31 || n == 99) {
			return "", fmt.Errorf("%w: signal 0-31|99", errUsage)
		}
		s.SetSignal(n)
		return "signal " + rest, nil
	case "reg":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || n > 5 {
			return "", fmt.Errorf("%w: reg 0-5", errUsage)
		}
		s.SetRegistration(n)
		return "registration " + rest, nil
	case "operator":
		if rest == "" || strings.ContainsAny(rest, "\"\r\n") {
			return "", fmt.Errorf("%w: operator NAME", errUsage)
		}
		s.SetOperator(rest)
		return "operator " + rest, nil
	case "pin":
		pin := rest
		if strings.EqualFold(pin, "off") {
			pin = ""
		}
		if err := s.SetPIN(pin); err != nil {
			return "", fmt.Errorf("%w: pin PIN|off (PIN: 4 to 8 digits)", errUsage)
		}
		if pin == "" {
			return "SIM unlocked, no PIN", nil
		}
		return "PIN set; asked for from the next reset", nil
	case "status":
		st := s.Status()
		return fmt.Sprintf("mode=%s echo=%v cmgf=%d cmee=%d cnmi=%d,%d sim=%q pin_left=%d puk_left=%d\n"+
			"signal=%d reg=%d operator=%q noise=%v silent=%v delay=%v\n"+
			"storage=%d/%d dropped=%d sent=%d",
			st.Mode, st.Echo, st.CMGF, st.CMEE, st.CNMI[0], st.CNMI[1], st.SIM, st.PINLeft, st.PUKLeft,
			st.Signal, st.Reg, st.Operator, st.Noise, st.Silent, st.Delay,
			st.Used, st.Capacity, st.Dropped, st.Sent), nil
	}
	return "", fmt.Errorf("%w: unknown command %q (try help)", errUsage, verb)
}

func deliveredLine(idx []int, err error) (string, error) {
	if err != nil && !errors.Is(err, ErrStorageFull) {
		return "", err
	}
	out := fmt.Sprintf("stored at %v", idx)
	if err != nil {
		out += " (" + err.Error() + ")"
	}
	return out, nil
}

// parseSMSArgs parses "[--flag value]... FROM TEXT...". The text is the
// rest of the line as typed.
func parseSMSArgs(s string) (from, text string, opts []DeliverOption, err error) {
	usage := fmt.Errorf("%w: sms [--ucs2] [--ref16] [--order 2,1] [--without 2] [--ton N] [--scts RFC3339] [--ref N] FROM TEXT", errUsage)
	for strings.HasPrefix(s, "--") {
		var flag string
		flag, s, _ = strings.Cut(s, " ")
		s = strings.TrimLeft(s, " ")
		value := func() (string, bool) {
			var v string
			v, s, _ = strings.Cut(s, " ")
			s = strings.TrimLeft(s, " ")
			return v, v != ""
		}
		switch flag {
		case "--ucs2":
			opts = append(opts, AsUCS2())
		case "--ref16":
			opts = append(opts, With16BitRef())
		case "--order", "--without":
			v, ok := value()
			if !ok {
				return "", "", nil, usage
			}
			var parts []int
			for _, f := range strings.Split(v, ",") {
				n, err := strconv.Atoi(f)
				if err != nil || n < 1 || n > 255 {
					return "", "", nil, usage
				}
				parts = append(parts, n)
			}
			if flag == "--order" {
				opts = append(opts, WithPartOrder(parts))
			} else {
				opts = append(opts, WithoutParts(parts...))
			}
		case "--ton", "--ref":
			v, ok := value()
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 0 || n > 65535 {
				return "", "", nil, usage
			}
			if flag == "--ton" {
				opts = append(opts, WithTON(n))
			} else {
				opts = append(opts, WithConcatRef(n))
			}
		case "--scts":
			v, ok := value()
			t, err := time.Parse(time.RFC3339, v)
			if !ok || err != nil {
				return "", "", nil, usage
			}
			opts = append(opts, WithSCTS(t))
		default:
			return "", "", nil, usage
		}
	}
	from, text, ok := strings.Cut(s, " ")
	if !ok || from == "" || text == "" {
		return "", "", nil, usage
	}
	return from, text, opts, nil
}

func onOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "1", "true":
		return true, nil
	case "off", "0", "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: on|off", errUsage)
}

func (s *Simulator) controlDelete(arg string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(arg, "all") {
		for i := range s.slots {
			s.slots[i] = slot{}
		}
		return "storage emptied", nil
	}
	i, err := strconv.Atoi(arg)
	if err != nil || i < 0 || i >= len(s.slots) {
		return "", fmt.Errorf("%w: delete INDEX|all (0-%d)", errUsage, len(s.slots)-1)
	}
	s.slots[i] = slot{}
	return fmt.Sprintf("slot %d emptied", i), nil
}

// storedText lists storage: index, status, sender, timestamp, part, text.
func (s *Simulator) storedText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	used := 0
	for i, sl := range s.slots {
		if !sl.used {
			continue
		}
		used++
		v, err := deliverText(sl.pdu)
		if err != nil {
			fmt.Fprintf(&b, "%3d  %-10s  (undecodable: %v)\n", i, textStat(sl.stat), err)
			continue
		}
		part := ""
		if t, err := unmarshalDeliver(sl.pdu); err == nil {
			if n, seq, ref, ok := t.ConcatInfo(); ok && n > 1 {
				part = fmt.Sprintf(" part %d/%d ref %d", seq, n, ref)
			}
		}
		fmt.Fprintf(&b, "%3d  %-10s  %s  %s%s  %q\n", i, textStat(sl.stat), v.OA, v.SCTS, part, v.Text)
	}
	fmt.Fprintf(&b, "%d/%d used, %d dropped", used, len(s.slots), s.dropped)
	return b.String()
}

func sentText(sent []Sent) string {
	if len(sent) == 0 {
		return "nothing sent"
	}
	var b strings.Builder
	for i, m := range sent {
		if i > 0 {
			b.WriteByte('\n')
		}
		body := strconv.Quote(m.Text)
		if m.Data != nil {
			body = "data " + hex.EncodeToString(m.Data)
		}
		fmt.Fprintf(&b, "%s  to %s  %d part(s)  %s", m.At.Format(time.TimeOnly), m.To, m.Parts, body)
	}
	return b.String()
}
