package modem

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What is read how often. A quiet poll must cost few AT commands: a slow
// stick answers each in a few hundred milliseconds, and every one of them
// stands between a text and the tunnel.
const (
	// settingsEvery is how often the settings (+CMEE, +CMGF) are checked
	// when nothing says the modem reset: a reset that announces nothing
	// can drop them silently.
	settingsEvery = time.Hour
	// operatorEvery is how often the operator is read while the
	// registration does not change.
	operatorEvery = time.Hour
)

// cache is what was read of the modem since the port opened. Guarded by
// the turn.
type cache struct {
	info       Info      // the last Info, kept current
	identityAt time.Time // identity, SIM and storage read (zero: not since the open)
	settingsAt time.Time // settings checked or set
	operatorAt time.Time // operator read, for operatorReg
	operatorOf Registration
}

// Info reports the modem's identity, the SIM, the network and the
// storage. Identity, SIM and storage size are read once per open and again
// after a sign of a reset or a SIM change; then a call asks only for what
// the modem does not report by itself: the signal (+CSQ) unless it sends
// ^RSSI, the registration (+CREG?) unless it sends +CREG, the operator
// when the registration changed or hourly. Fields the modem does not
// support stay empty; only a modem that stops answering (or a closed port)
// is an error.
func (m *Modem) Info(ctx context.Context) (Info, error) {
	var in Info
	err := m.do(ctx, func(*atConn) error {
		var err error
		in, err = m.refresh(ctx)
		return err
	})
	return in, err
}

// Cached is the last Info, without asking the modem anything; the storage
// use follows the listings and deletions since.
func (m *Modem) Cached() Info {
	m.cachedMu.Lock()
	defer m.cachedMu.Unlock()
	return m.cached
}

// publish makes the cache's Info what Cached returns. Callers hold the
// turn.
func (m *Modem) publish() {
	m.cachedMu.Lock()
	m.cached = m.cache.info
	m.cachedMu.Unlock()
}

// refresh is Info under the turn.
func (m *Modem) refresh(ctx context.Context) (Info, error) {
	simBefore := m.cache.info.SIM
	if err := m.ready(ctx); err != nil && !errors.Is(err, ErrSIMNotReady) {
		return m.cache.info, err
	}
	simSign := m.urc.takeSIM()
	if m.cache.identityAt.IsZero() || simSign || m.sim.state != SIMReady || m.sim.state != simBefore {
		return m.info(ctx)
	}
	in := m.cache.info
	ask := m.asker(ctx)
	if rssi, ok := m.urc.signal(); ok {
		in.SignalDBm, in.SignalBars, in.SignalKnown = signal(rssi)
	} else if v, ok := field(ask.do("+CSQ"), "+CSQ:"); ok {
		if rssi, err := parseCSQ(v); err == nil {
			in.SignalDBm, in.SignalBars, in.SignalKnown = signal(rssi)
		}
	}
	if r, ok := m.urc.registration(); ok && (r == RegHome || r == RegRoaming) {
		in.Registration = r
	} else {
		in.Registration = m.registration(ask)
	}
	if in.Registration != m.cache.operatorOf || m.o.now().Sub(m.cache.operatorAt) >= operatorEvery {
		in.Operator = m.operator(ask)
		m.cache.operatorOf = in.Registration
	}
	if ask.fatal != nil {
		m.urc.flag()
		return in, fmt.Errorf("modem: info: %w", ask.fatal)
	}
	m.cache.info = in
	m.publish()
	return in, nil
}

// asker runs read-only queries, each retried once after a timeout or a
// garbled answer. The first error that is not the modem refusing a command
// is kept, and no command is sent after it.
type asker struct {
	m     *Modem
	ctx   context.Context
	fatal error
}

func (m *Modem) asker(ctx context.Context) *asker { return &asker{m: m, ctx: ctx} }

func (a *asker) do(cmd string) []string {
	if a.fatal != nil {
		return nil
	}
	var info []string
	err := a.m.retry(a.ctx, func() error {
		var err error
		info, err = a.m.command(a.ctx, cmd, a.m.o.cmdTimeout)
		return err
	})
	var ae *ATError
	if err != nil && !errors.As(err, &ae) {
		a.fatal = err
	}
	if err != nil {
		return nil
	}
	return info
}

func (a *asker) plain(cmd string) string {
	v, _ := plainLine(a.do(cmd), cmd)
	return v
}

// info reads everything: identity, SIM, network, storage.
func (m *Modem) info(ctx context.Context) (Info, error) {
	var in Info
	in.PINAttempts = -1
	in.Registration = RegUnknown
	ask := m.asker(ctx)
	in.Manufacturer = ask.plain("+CGMI")
	in.Model = ask.plain("+CGMM")
	in.Revision = ask.plain("+CGMR")
	in.IMEI = ask.plain("+CGSN")

	if ask.fatal == nil {
		if err := m.unlockSIM(ctx); err != nil {
			ask.fatal = err
		}
	}
	in.SIM, in.PINAttempts = m.sim.state, m.sim.attempts
	in.SIMReason = m.sim.reason
	if in.SIM == SIMReady {
		if v := ask.plain("+CIMI"); isDigits(v) {
			in.IMSI = v
		}
		in.ICCID = m.iccid(ask.do)
	}
	ask.do("+COPS=3,0") // long alphanumeric operator names
	in.Operator = m.operator(ask)
	in.Registration = m.registration(ask)
	if v, ok := field(ask.do("+CSQ"), "+CSQ:"); ok {
		if rssi, err := parseCSQ(v); err == nil {
			in.SignalDBm, in.SignalBars, in.SignalKnown = signal(rssi)
		}
	}
	if in.SIM == SIMReady {
		if v, ok := field(ask.do("+CPMS?"), "+CPMS:"); ok {
			in.StorageUsed, in.StorageTotal, _ = parseCPMS(v)
		}
	}
	if ask.fatal != nil {
		return in, fmt.Errorf("modem: info: %w", ask.fatal)
	}
	m.cache.info = in
	m.cache.identityAt = m.o.now()
	m.cache.operatorOf = in.Registration
	m.publish()
	return in, nil
}

// operator reads +COPS? and remembers for which registration.
func (m *Modem) operator(ask *asker) string {
	var op string
	if v, ok := field(ask.do("+COPS?"), "+COPS:"); ok {
		op, _ = parseCOPS(v)
	}
	if ask.fatal == nil {
		m.cache.operatorAt = m.o.now()
	}
	return op
}

// registration asks +CREG?, and the packet-domain registrations when the
// circuit one is not home or roaming (an LTE-only modem registers there).
func (m *Modem) registration(ask *asker) Registration {
	reg := RegUnknown
	for _, c := range []string{"+CREG", "+CGREG", "+CEREG"} {
		if v, ok := field(ask.do(c+"?"), c+":"); ok {
			if r, err := parseCREG(v); err == nil && (reg == RegUnknown || r == RegHome || r == RegRoaming) {
				reg = r
			}
		}
		if reg == RegHome || reg == RegRoaming || ask.fatal != nil {
			break
		}
	}
	m.urc.setRegistration(reg)
	return reg
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
