package modem

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oobd/oobd/internal/secretfile"
)

// simState is what the modem knows of the SIM card now.
type simState struct {
	state    SIMState
	attempts int    // PIN tries left, -1 unknown
	reason   string // why it is not ready, for Info and errors
}

// PINError says why the SIM is locked and stays so.
type PINError struct {
	State        SIMState
	AttemptsLeft int // -1 unknown
	Reason       string
}

func (e *PINError) Error() string {
	s := "SIM " + string(e.State) + ": " + e.Reason
	if e.AttemptsLeft >= 0 {
		s += fmt.Sprintf(" (%d PIN attempts left)", e.AttemptsLeft)
	}
	return s
}

func (e *PINError) Is(target error) bool { return target == ErrSIMNotReady }

// unlockSIM reads the SIM state and enters the PIN when the rules allow.
// Only a modem that does not answer is an error; a locked SIM is recorded.
//
// The rules keep the SIM out of PUK whatever happens to oobd: a PIN is
// sent only when the SIM asks; a PIN the SIM rejected is remembered (as a
// digest with the SIM's ICCID, across re-opens, resets and, with
// WithMemory, restarts) and never sent again; after a rejection no PIN is
// sent while the modem cannot say how many tries are left; and none is
// sent with one try left. Once the SIM is ready the memory is cleared: a
// PIN that worked resets the SIM's count.
func (m *Modem) unlockSIM(ctx context.Context) error {
	st, err := m.cpin(ctx)
	if err != nil {
		return err
	}
	before := m.sim.reason
	m.sim = simState{state: st, attempts: -1}
	switch st {
	case SIMReady:
		m.stats.setRejectedPIN("")
		return nil
	case SIMPUK:
		m.sim.reason = "PUK required: enter it by hand (oobd never does)"
		return nil
	case SIMAbsent:
		m.sim.reason = "no SIM inserted"
		return nil
	case SIMPIN:
	default:
		m.sim.reason = "SIM asks for something other than its PIN"
		return nil
	}
	m.sim.attempts = m.pinAttempts(ctx)
	if m.o.pinFile == "" {
		m.sim.reason = "PIN required and no PIN file is configured"
		return nil
	}
	raw, err := secretfile.Read(m.o.pinFile)
	if err != nil {
		m.sim.reason = fmt.Sprintf("PIN required; PIN file: %v", err)
		if m.sim.reason != before { // once, not at every poll
			m.o.log.Error("modem: the SIM asks for its PIN and the PIN file cannot be used", "err", err)
		}
		return nil
	}
	pin := strings.TrimSpace(string(raw))
	if len(pin) < 4 || len(pin) > 8 || !isDigits(pin) {
		m.sim.reason = fmt.Sprintf("PIN file %s does not hold 4 to 8 digits", m.o.pinFile)
		return nil
	}
	// The ICCID ties the memory to this SIM: a new SIM with the same PIN
	// file gets its try. A locked SIM usually still gives it.
	iccid := m.iccid(func(cmd string) []string {
		info, err := m.command(ctx, cmd, m.o.cmdTimeout)
		if err != nil {
			return nil
		}
		return info
	})
	if iccid == "" {
		m.o.log.Warn("modem: the locked SIM gives no ICCID; a rejected PIN is remembered by the PIN alone", "port", m.path)
	}
	digest := pinDigest(pin, iccid)
	rejected := m.stats.rejectedPIN()
	switch {
	case rejected != "" && subtle.ConstantTimeCompare([]byte(rejected), []byte(digest)) == 1:
		m.sim.reason = "the PIN in the PIN file was rejected before; not retried (fix the file, or enter the PIN by hand)"
		return nil
	case rejected != "" && m.sim.attempts < 0:
		m.sim.reason = "a PIN was rejected before and the modem does not say how many tries are left; not risking the PUK: enter the PIN by hand"
		return nil
	case m.sim.attempts == 1:
		m.sim.reason = "one PIN attempt left: not risking the PUK; enter the PIN by hand"
		return nil
	}
	m.o.log.Info("modem: entering SIM PIN", "port", m.path, "attempts_left", m.sim.attempts)
	// The PIN goes to the modem only; the AT engine never logs.
	_, err = m.command(ctx, `+CPIN="`+pin+`"`, m.o.cmdTimeout+10*time.Second)
	if err != nil {
		var ae *ATError
		if !errors.As(err, &ae) {
			// No answer: whether it took is unknown. Counting it as
			// rejected errs on the side of the PUK.
			m.stats.setRejectedPIN(digest)
			return err
		}
		m.stats.setRejectedPIN(digest)
		m.sim.attempts = m.pinAttempts(ctx)
		m.sim.reason = "PIN rejected (" + ae.Meaning + "); not retried"
		m.o.log.Error("modem: SIM PIN rejected", "port", m.path, "attempts_left", m.sim.attempts)
		return nil
	}
	// The SIM takes a moment to become ready.
	for try := 0; try < 20; try++ {
		st, err := m.cpin(ctx)
		if err == nil && st == SIMReady {
			m.sim = simState{state: SIMReady, attempts: -1}
			m.stats.setRejectedPIN("")
			return nil
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	m.sim.reason = "PIN accepted but the SIM did not become ready"
	return nil
}

// pinDigest is what is remembered of a rejected PIN: never the PIN.
func pinDigest(pin, iccid string) string {
	sum := sha256.Sum256([]byte("oobd-pin\x00" + iccid + "\x00" + pin))
	return hex.EncodeToString(sum[:])
}

// cpin asks +CPIN?. "SIM not inserted" comes back as an error.
func (m *Modem) cpin(ctx context.Context) (SIMState, error) {
	var st SIMState
	err := m.retry(ctx, func() error {
		info, err := m.command(ctx, "+CPIN?", m.o.cmdTimeout)
		if err != nil {
			var ae *ATError
			if errors.As(err, &ae) {
				switch {
				case ae.Code == 10 || ae.Code == 310 || strings.Contains(strings.ToLower(ae.Meaning), "not inserted"):
					st = SIMAbsent
				case isSIMBusy(err):
					st = SIMUnknown
				default:
					st = SIMError
				}
				return nil
			}
			return err
		}
		v, ok := field(info, "+CPIN:")
		if !ok {
			return fmt.Errorf("modem: +CPIN?: %w: %q", ErrGarbled, info)
		}
		st = parseCPIN(v)
		return nil
	})
	return st, err
}

// pinAttempts asks how many PIN tries are left: Huawei ^CPIN, then
// 3GPP-ish +CPINR; -1 when neither answers.
func (m *Modem) pinAttempts(ctx context.Context) int {
	if info, err := m.command(ctx, "^CPIN?", m.o.cmdTimeout); err == nil {
		if v, ok := field(info, "^CPIN:"); ok {
			if n, err := parsePINAttempts(v, true); err == nil {
				return n
			}
		}
	}
	if info, err := m.command(ctx, `+CPINR="SIM PIN"`, m.o.cmdTimeout); err == nil {
		if v, ok := field(info, "+CPINR:"); ok {
			if n, err := parsePINAttempts(v, false); err == nil {
				return n
			}
		}
	}
	return -1
}

// simReady returns nil when the SIM can be used, or why not.
func (m *Modem) simReady() error {
	if m.sim.state == SIMReady {
		return nil
	}
	return fmt.Errorf("modem: %w", &PINError{State: m.sim.state, AttemptsLeft: m.sim.attempts, Reason: m.sim.reason})
}
