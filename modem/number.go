package modem

import (
	"context"
	"strconv"
	"strings"
)

// OwnNumber asks the SIM for its own number (+CNUM, 3GPP TS 27.007 §7.1):
// "+" and the digits when the SIM stores it as international, the digits
// as stored otherwise, "" when the SIM does not store it (many prepaid
// SIMs do not).
func (m *Modem) OwnNumber(ctx context.Context) (string, error) {
	var n string
	err := m.do(ctx, func(*atConn) error {
		if err := m.ready(ctx); err != nil {
			return err
		}
		info, err := m.command(ctx, "+CNUM", m.o.cmdTimeout)
		if err != nil {
			return err
		}
		n = parseCNUM(info)
		return nil
	})
	return n, err
}

// parseCNUM takes the first voice number of a +CNUM reply:
// +CNUM: [<alpha>],<number>,<type>[,…].
func parseCNUM(info []string) string {
	for _, l := range info {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "+CNUM:") {
			continue
		}
		f := splitCSV(strings.TrimSpace(l[len("+CNUM:"):]))
		if len(f) < 3 {
			continue
		}
		num := strings.TrimSpace(f[1])
		digits := strings.TrimPrefix(num, "+")
		if digits == "" || !isDigits(digits) {
			continue
		}
		if typ, err := strconv.Atoi(f[2]); err == nil && typ == 145 || strings.HasPrefix(num, "+") {
			return "+" + digits
		}
		return digits
	}
	return ""
}
