package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// ready checks, when there is a reason to, that the modem still has the
// settings the open gave it, and asserts them again if not: a modem that
// reset itself forgets them (PDU mode, storage, indications) and asks for
// its PIN again. The reasons: a sign of a reset (^BOOT, a SIM indication,
// a command that failed where it should not), an hour since the last
// check, or a SIM that was not ready.
func (m *Modem) ready(ctx context.Context) error {
	reset, boot := m.urc.takeReset()
	if !reset && m.o.now().Sub(m.cache.settingsAt) < settingsEvery {
		return m.ensureSIM(ctx)
	}
	// +CMEE=2 is never a power-on default, and +CMGF=0 is what SMS needs.
	lost := false
	for _, q := range []struct{ cmd, want string }{{"+CMEE?", "2"}, {"+CMGF?", "0"}} {
		var info []string
		err := m.retry(ctx, func() error {
			var err error
			info, err = m.command(ctx, q.cmd, m.o.cmdTimeout)
			return err
		})
		var ae *ATError
		if err != nil && !errors.As(err, &ae) {
			return err
		}
		if v, ok := field(info, q.cmd[:len(q.cmd)-1]+":"); err != nil || !ok || v != q.want {
			lost = true
			break
		}
	}
	m.cache.settingsAt = m.o.now()
	if !lost {
		if boot {
			// A ^BOOT that was no reset: this firmware chatters. (Other
			// signs that found nothing lost say nothing of ^BOOT.)
			m.urc.noReset()
		}
		return m.ensureSIM(ctx)
	}
	m.o.log.Warn("modem: settings lost (the modem reset?); initialising again", "port", m.path)
	m.stats.set(func(s *Stats) { s.Recovery.Reinits++ })
	m.urc.opened()
	m.cache = cache{settingsAt: m.o.now()}
	if err := m.initialise(ctx); err != nil {
		return err
	}
	return m.simReady()
}

// ensureSIM tries again to get a SIM that was not ready (still loading,
// or its PIN file changed) and re-asserts storage once it is.
func (m *Modem) ensureSIM(ctx context.Context) error {
	if m.sim.state == SIMReady {
		return nil
	}
	if err := m.unlockSIM(ctx); err != nil {
		return err
	}
	if m.sim.state != SIMReady {
		return m.simReady()
	}
	if _, err := m.command(ctx, `+CPMS="SM","SM","SM"`, m.o.cmdTimeout); err != nil {
		return err
	}
	if m.o.indications {
		m.enableIndications(ctx)
	}
	return nil
}

// Messages lists every stored message (+CMGL=4, PDU mode), reassembled.
// A slot that is not a readable text comes back as a binary Message with
// Problem set, so that nothing is skipped silently.
func (m *Modem) Messages(ctx context.Context) ([]Message, error) {
	var msgs []Message
	err := m.do(ctx, func(*atConn) error {
		var err error
		msgs, err = m.messages(ctx)
		return err
	})
	return msgs, err
}

func (m *Modem) messages(ctx context.Context) ([]Message, error) {
	if err := m.ready(ctx); err != nil {
		return nil, err
	}
	var entries []stored
	var err error
	// Line noise can garble a PDU line; a second listing tells noise from
	// a PDU that is broken for good.
	reinitialised := false
	for try := 0; try < 3; try++ {
		var info []string
		info, err = m.command(ctx, "+CMGL=4", m.o.listTimeout)
		var ae *ATError
		switch {
		case errors.As(err, &ae) && !reinitialised:
			// Refused: in text mode "4" is no status. A reset that said
			// nothing may have dropped PDU mode (and +CNMI with it).
			if err := m.restoreSettings(ctx); err != nil {
				return nil, err
			}
			reinitialised = true
			continue
		case errors.Is(err, ErrTimeout) && ctx.Err() == nil:
			m.urc.flag()
			continue
		case err != nil:
			return nil, err
		}
		var problems []error
		entries, problems = parseCMGL(info)
		bad := len(problems)
		for _, e := range entries {
			if !wellFormed(e) {
				bad++
			}
		}
		if bad == 0 {
			break
		}
		if textModeListing(info) && !reinitialised {
			// Answered, but in text mode: as good as refused.
			m.o.log.Warn("modem: +CMGL answered in text mode; restoring PDU mode")
			if err := m.restoreSettings(ctx); err != nil {
				return nil, err
			}
			reinitialised = true
			continue
		}
		m.o.log.Warn("modem: garbled +CMGL reply", "try", try+1, "bad", bad)
	}
	if err != nil {
		return nil, err
	}
	if m.cache.info.StorageTotal > 0 {
		m.cache.info.StorageUsed = len(entries)
		m.publish()
	}
	return assemble(entries), nil
}

// restoreSettings checks the settings a reset may have dropped (PDU mode,
// +CNMI) and restores them, as after a sign of a reset.
func (m *Modem) restoreSettings(ctx context.Context) error {
	m.urc.flag()
	return m.ready(ctx)
}

// wellFormed checks a listed PDU against the length its header gave.
func wellFormed(e stored) bool {
	b, err := hex.DecodeString(e.pdu)
	if err != nil || len(b) == 0 {
		return false
	}
	p, err := pdumode.UnmarshalBinary(b)
	return err == nil && len(p.TPDU) == e.length
}

// Delete frees one storage slot. A slot that is already empty is not an
// error.
func (m *Modem) Delete(ctx context.Context, index int) error {
	if index < 0 {
		return fmt.Errorf("modem: delete: bad index %d", index)
	}
	return m.do(ctx, func(*atConn) error {
		if err := m.ready(ctx); err != nil {
			return err
		}
		_, err := m.command(ctx, fmt.Sprintf("+CMGD=%d", index), m.o.cmdTimeout)
		var ae *ATError
		if errors.As(err, &ae) && (ae.Code == 321 || ae.Code == 21) {
			return nil
		}
		if err == nil && m.cache.info.StorageUsed > 0 {
			m.cache.info.StorageUsed--
			m.publish()
		}
		return err
	})
}

// DeleteAll empties the message storage.
func (m *Modem) DeleteAll(ctx context.Context) error {
	return m.do(ctx, func(*atConn) error {
		if err := m.ready(ctx); err != nil {
			return err
		}
		_, err := m.command(ctx, "+CMGD=1,4", m.o.listTimeout)
		return err
	})
}

// Send sends text to number ("+" and digits for an international
// number, digits alone otherwise), split into concatenated parts when
// long, in UCS-2 when GSM 7-bit cannot carry it.
func (m *Modem) Send(ctx context.Context, number, text string) error {
	pdus, err := m.encode(number, text)
	if err != nil {
		return err
	}
	return m.do(ctx, func(*atConn) error {
		if err := m.ready(ctx); err != nil {
			return err
		}
		for i, p := range pdus {
			info, err := m.smsCommand(ctx, fmt.Sprintf("+CMGS=%d", p.length), p.hex, m.o.sendTimeout)
			if err != nil {
				return fmt.Errorf("modem: send part %d of %d: %w", i+1, len(pdus), err)
			}
			if _, ok := field(info, "+CMGS:"); !ok {
				m.o.log.Warn("modem: +CMGS answered OK without a message reference", "part", i+1)
			}
		}
		return nil
	})
}

type outPDU struct {
	hex    string
	length int // TPDU octets, for +CMGS=<length>
}

func (m *Modem) encode(number, text string) ([]outPDU, error) {
	num := strings.TrimSpace(number)
	var da tpdu.Address
	switch {
	case strings.HasPrefix(num, "+") && isDigits(num[1:]) && len(num) <= 21:
		da = tpdu.NewAddress(tpdu.FromNumber(num))
	case isDigits(num) && len(num) <= 20:
		da = tpdu.Address{Addr: num, TOA: 0x81} // unknown type, ISDN plan
	default:
		return nil, fmt.Errorf("modem: send: %q is not a phone number", number)
	}
	if text == "" {
		return nil, errors.New("modem: send: empty text")
	}
	enc := sms.NewEncoder(sms.AsSubmit, sms.WithTemplateOption(tpdu.WithDA(da)))
	enc.ConcatRef = &m.refs
	tps, err := enc.Encode([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("modem: send: encode: %w", err)
	}
	if len(tps) > 255 {
		return nil, fmt.Errorf("modem: send: text needs %d parts, at most 255", len(tps))
	}
	out := make([]outPDU, 0, len(tps))
	for _, tp := range tps {
		b, err := tp.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("modem: send: encode: %w", err)
		}
		h, err := (&pdumode.PDU{TPDU: b}).MarshalHexString()
		if err != nil {
			return nil, fmt.Errorf("modem: send: encode: %w", err)
		}
		out = append(out, outPDU{hex: h, length: len(b)})
	}
	return out, nil
}

// refCounter hands out concatenation references for sent messages. It
// starts somewhere random so that a restart does not reuse the reference
// of a message the recipient is still assembling.
type refCounter struct {
	mu sync.Mutex // guards n
	n  int
}

func (c *refCounter) seed(t time.Time) {
	c.mu.Lock()
	c.n = int(t.UnixNano()>>10) & 0xff
	c.mu.Unlock()
}

// Count implements tpdu.Counter.
func (c *refCounter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = (c.n + 1) & 0xff
	return c.n
}
