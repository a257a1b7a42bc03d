package modem

import (
	"context"
	"errors"
	"fmt"
)

// Info reads the modem's identity, the SIM, the network and the storage.
// Fields the modem does not support stay empty; only a modem that stops
// answering (or a closed port) is an error.
func (m *Modem) Info(ctx context.Context) (Info, error) {
	var in Info
	err := m.do(ctx, func(*atConn) error {
		var err error
		in, err = m.info(ctx)
		return err
	})
	return in, err
}

func (m *Modem) info(ctx context.Context) (Info, error) {
	var in Info
	in.PINAttempts = -1
	in.Registration = RegUnknown

	// fatal keeps the first error that is not the modem refusing a command.
	var fatal error
	ask := func(cmd string) []string {
		if fatal != nil {
			return nil
		}
		var info []string
		err := m.retry(ctx, func() error {
			var err error
			info, err = m.command(ctx, cmd, m.o.cmdTimeout)
			return err
		})
		var ae *ATError
		if err != nil && !errors.As(err, &ae) {
			fatal = err
		}
		if err != nil {
			return nil
		}
		return info
	}
	plain := func(cmd string) string {
		v, _ := plainLine(ask(cmd), cmd)
		return v
	}
	in.Manufacturer = plain("+CGMI")
	in.Model = plain("+CGMM")
	in.Revision = plain("+CGMR")
	in.IMEI = plain("+CGSN")

	if fatal == nil {
		if err := m.unlockSIM(ctx); err != nil {
			fatal = err
		}
	}
	in.SIM, in.PINAttempts = m.sim.state, m.sim.attempts
	in.SIMReason = m.sim.reason
	if in.SIM == SIMReady {
		if v := plain("+CIMI"); isDigits(v) {
			in.IMSI = v
		}
		in.ICCID = m.iccid(ask)
	}

	ask("+COPS=3,0") // long alphanumeric operator names
	if v, ok := field(ask("+COPS?"), "+COPS:"); ok {
		in.Operator, _ = parseCOPS(v)
	}
	for _, c := range []string{"+CREG", "+CGREG", "+CEREG"} {
		if v, ok := field(ask(c+"?"), c+":"); ok {
			if r, err := parseCREG(v); err == nil && (in.Registration == RegUnknown || r == RegHome || r == RegRoaming) {
				in.Registration = r
			}
		}
		if in.Registration == RegHome || in.Registration == RegRoaming || fatal != nil {
			break
		}
	}
	if v, ok := field(ask("+CSQ"), "+CSQ:"); ok {
		if rssi, err := parseCSQ(v); err == nil {
			in.SignalDBm, in.SignalBars, in.SignalKnown = signal(rssi)
		}
	}
	if in.SIM == SIMReady {
		if v, ok := field(ask("+CPMS?"), "+CPMS:"); ok {
			in.StorageUsed, in.StorageTotal, _ = parseCPMS(v)
		}
	}
	if fatal != nil {
		return in, fmt.Errorf("modem: info: %w", fatal)
	}
	return in, nil
}

// iccid tries the vendors' commands in turn, then reads EF_ICCID.
func (m *Modem) iccid(ask func(string) []string) string {
	for _, c := range []struct{ cmd, prefix string }{
		{"+CCID", "+CCID:"}, {"^ICCID?", "^ICCID:"}, {"+ICCID", "+ICCID:"},
	} {
		if v, ok := field(ask(c.cmd), c.prefix); ok {
			if id, err := parseICCID(v, false); err == nil {
				return id
			}
		}
	}
	if v, ok := field(ask("+CRSM=176,12258,0,0,10"), "+CRSM:"); ok {
		if id, err := parseICCID(v, true); err == nil {
			return id
		}
	}
	return ""
}
