package modem

import (
	"context"
	"encoding/hex"
	"strings"
)

// ServiceCentre asks for the SMS service centre's number (+CSCA?, 3GPP TS
// 27.005 §3.3.1), the one texts are sent through: "+" and the digits when
// it is international, "" when none is set (then no text can be sent, and
// a "link down" notice or a status reply is lost). Most SIMs carry it; a
// SIM from a small virtual operator sometimes does not.
func (m *Modem) ServiceCentre(ctx context.Context) (string, error) {
	var n string
	err := m.do(ctx, func(*atConn) error {
		if err := m.ready(ctx); err != nil {
			return err
		}
		info, err := m.command(ctx, "+CSCA?", m.o.cmdTimeout)
		if err != nil {
			return err
		}
		if v, ok := field(info, "+CSCA:"); ok {
			n = parseCSCA(v)
		}
		return nil
	})
	return n, err
}

// parseCSCA parses "+CSCA: <sca>,<tosca>". A modem whose character set
// is UCS2 (AT+CSCS="UCS2") answers the number as hex, four digits a
// character; anything that is not a number comes back as "".
func parseCSCA(s string) string {
	f := splitCSV(s)
	num := strings.TrimSpace(f[0])
	if d, ok := ucs2Digits(num); ok {
		num = d
	}
	digits := strings.TrimPrefix(num, "+")
	if digits == "" || !isDigits(digits) {
		return ""
	}
	if strings.HasPrefix(num, "+") || len(f) > 1 && strings.TrimSpace(f[1]) == "145" {
		return "+" + digits
	}
	return digits
}

// ucs2Digits decodes a UCS2 hex string made only of '+' and digits.
func ucs2Digits(s string) (string, bool) {
	if len(s) < 8 || len(s)%4 != 0 {
		return "", false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	var out strings.Builder
	for i := 0; i < len(b); i += 2 {
		c := rune(b[i])<<8 | rune(b[i+1])
		if c != '+' && (c < '0' || c > '9') {
			return "", false
		}
		out.WriteRune(c)
	}
	return out.String(), true
}
