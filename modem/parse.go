package modem

import (
	"fmt"
	"strconv"
	"strings"
)

// Parsers for the information lines of AT replies. Each takes the text
// after "+XXX:" and never panics on any input (they are fuzzed).

// field returns the text after prefix (e.g. "+CSQ:") of the first line in
// info that has it, without leading space. Replies can carry unsolicited
// lines (^RSSI, +CMTI, …) anywhere, so lines are picked by prefix.
func field(info []string, prefix string) (string, bool) {
	for _, l := range info {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l[len(prefix):]), true
		}
	}
	return "", false
}

// splitCSV splits a reply's comma-separated values; quoted values may hold
// commas and lose their quotes.
func splitCSV(s string) []string {
	var out []string
	var b strings.Builder
	inQuote := false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == ',' && !inQuote:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteRune(r)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

func atoiField(fields []string, i int, what string) (int, error) {
	if i >= len(fields) {
		return 0, fmt.Errorf("%s: missing field %d", what, i+1)
	}
	n, err := strconv.Atoi(fields[i])
	if err != nil {
		return 0, fmt.Errorf("%s: field %d %q is not a number", what, i+1, fields[i])
	}
	return n, nil
}

// parseCSQ parses "+CSQ: <rssi>,<ber>".
func parseCSQ(s string) (rssi int, err error) {
	f := splitCSV(s)
	rssi, err = atoiField(f, 0, "+CSQ")
	if err != nil {
		return 0, err
	}
	if (rssi < 0 || rssi > 31) && rssi != 99 {
		return 0, fmt.Errorf("+CSQ: rssi %d out of range", rssi)
	}
	return rssi, nil
}

// signal converts a +CSQ rssi into dBm (3GPP TS 27.007: 0 is ≤-113 dBm,
// 31 is ≥-51 dBm, 2 dB a step) and 0–5 bars; known is false for 99.
func signal(rssi int) (dbm, bars int, known bool) {
	if rssi < 0 || rssi > 31 {
		return 0, 0, false
	}
	dbm = -113 + 2*rssi
	switch {
	case dbm >= -73:
		bars = 5
	case dbm >= -83:
		bars = 4
	case dbm >= -93:
		bars = 3
	case dbm >= -103:
		bars = 2
	case dbm > -113:
		bars = 1
	}
	return dbm, bars, true
}

// parseCREG parses "+CREG: <n>,<stat>[,…]" (also +CGREG, +CEREG).
func parseCREG(s string) (Registration, error) {
	f := splitCSV(s)
	i := 1
	if len(f) == 1 {
		i = 0 // the unsolicited form carries <stat> alone
	}
	stat, err := atoiField(f, i, "+CREG")
	if err != nil {
		return RegUnknown, err
	}
	return registration(stat), nil
}

func registration(stat int) Registration {
	switch stat {
	case 0:
		return RegNotRegistered
	case 1, 6, 9: // 6: SMS only, 9: CSFB not preferred
		return RegHome
	case 2:
		return RegSearching
	case 3:
		return RegDenied
	case 5, 7, 10:
		return RegRoaming
	}
	return RegUnknown
}

// parseCPMS parses the query form "+CPMS: "SM",used,total,…" and the set
// form "+CPMS: used,total,…"; it returns the first storage's use.
func parseCPMS(s string) (used, total int, err error) {
	f := splitCSV(s)
	i := 0
	if len(f) > 0 {
		if _, err := strconv.Atoi(f[0]); err != nil {
			i = 1 // query form: memory name first
		}
	}
	if used, err = atoiField(f, i, "+CPMS"); err != nil {
		return 0, 0, err
	}
	if total, err = atoiField(f, i+1, "+CPMS"); err != nil {
		return 0, 0, err
	}
	if used < 0 || total < 0 {
		return 0, 0, fmt.Errorf("+CPMS: negative count")
	}
	return used, total, nil
}

// cmglHeader is "+CMGL: <index>,<stat>,[<alpha>],<length>" in PDU mode.
type cmglHeader struct {
	index, stat, length int
}

func parseCMGLHeader(s string) (cmglHeader, error) {
	f := splitCSV(s)
	var h cmglHeader
	var err error
	if len(f) < 3 {
		return h, fmt.Errorf("+CMGL: %d fields, want at least 3", len(f))
	}
	if h.index, err = atoiField(f, 0, "+CMGL"); err != nil {
		return h, err
	}
	if h.stat, err = atoiField(f, 1, "+CMGL"); err != nil {
		return h, err
	}
	if h.length, err = atoiField(f, len(f)-1, "+CMGL"); err != nil {
		return h, err
	}
	if h.index < 0 || h.length < 0 || h.length > 255 {
		return h, fmt.Errorf("+CMGL: index %d or length %d out of range", h.index, h.length)
	}
	return h, nil
}

// parseCOPS parses "+COPS: <mode>[,<format>,<oper>[,<act>]]".
func parseCOPS(s string) (string, error) {
	f := splitCSV(s)
	if _, err := atoiField(f, 0, "+COPS"); err != nil {
		return "", err
	}
	if len(f) < 3 {
		return "", nil // not registered: no operator
	}
	return f[2], nil
}

// parseCPIN parses "+CPIN: <code>".
func parseCPIN(s string) SIMState {
	switch strings.ToUpper(strings.Trim(strings.TrimSpace(s), `"`)) {
	case "READY":
		return SIMReady
	case "SIM PIN":
		return SIMPIN
	case "SIM PUK":
		return SIMPUK
	case "":
		return SIMUnknown
	}
	return SIMError // PH-SIM PIN, SIM PIN2, …: not something oobd can answer
}

// parsePINAttempts reads the PIN tries left from Huawei's
// "^CPIN: <code>,[<times>],<puk_times>,<pin_times>,…" (which=huawei) or
// "+CPINR: SIM PIN,<retries>[,<default>]".
func parsePINAttempts(s string, huawei bool) (int, error) {
	f := splitCSV(s)
	if huawei {
		return atoiField(f, 3, "^CPIN")
	}
	if len(f) > 0 && !strings.EqualFold(f[0], "SIM PIN") {
		return 0, fmt.Errorf("+CPINR: %q is not the SIM PIN", f[0])
	}
	return atoiField(f, 1, "+CPINR")
}

// parseICCID takes an ICCID from "+CCID:"/"^ICCID:"/"+ICCID:" (digits,
// maybe quoted) or, when swapped, from +CRSM's EF_ICCID hex (nibbles
// swapped, 'F' padding).
func parseICCID(s string, swapped bool) (string, error) {
	if swapped {
		f := splitCSV(s)
		if len(f) < 3 {
			return "", fmt.Errorf("+CRSM: %d fields, want 3", len(f))
		}
		if f[0] != "144" {
			return "", fmt.Errorf("+CRSM: status %s,%s", f[0], f[1])
		}
		h := f[2]
		var b strings.Builder
		for i := 0; i+1 < len(h); i += 2 {
			b.WriteByte(h[i+1])
			b.WriteByte(h[i])
		}
		s = strings.TrimRight(strings.ToUpper(b.String()), "F")
	}
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if len(s) < 10 || len(s) > 22 {
		return "", fmt.Errorf("ICCID %q: bad length", s)
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != 'F' && r != 'f' {
			return "", fmt.Errorf("ICCID %q: not digits", s)
		}
	}
	return strings.TrimRight(s, "Ff"), nil
}

// plainLine returns the first line of info that is not an unsolicited or
// prefixed line: the answer of +CGMI, +CGMM, +CGMR, +CGSN, +CIMI, which
// some modems prefix with the command ("+CGMI: huawei") and some do not.
func plainLine(info []string, cmd string) (string, bool) {
	if v, ok := field(info, cmd+":"); ok {
		return strings.Trim(v, `"`), true
	}
	for _, l := range info {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "+") || strings.HasPrefix(l, "^") || strings.HasPrefix(l, "AT") {
			continue
		}
		if !isPrintable(l) {
			continue
		}
		return l, true
	}
	return "", false
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
