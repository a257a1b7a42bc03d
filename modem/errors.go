package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warthog618/modem/at"
)

var (
	// ErrTimeout means the modem did not answer a command in time.
	ErrTimeout = errors.New("no answer")
	// ErrPortClosed means the serial port went away (USB re-enumeration,
	// unplugged modem); Recover re-opens it.
	ErrPortClosed = errors.New("serial port closed")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("modem closed")
	// ErrSIMNotReady means the SIM needs a PIN that was not (or could not
	// be) given, or a PUK, or is missing.
	ErrSIMNotReady = errors.New("SIM not ready")
	// ErrRecovering is returned while the recovery ladder runs: the
	// modem stopped answering and is being brought back.
	ErrRecovering = errors.New("not answering; recovering")
	// ErrReleased is returned while the port is lent to the dialer of a
	// single-port modem.
	ErrReleased = errors.New("port lent to the dialer")
	// errOpen wraps the serial port's error when it does not open.
	errOpen = errors.New("port does not open")
	// ErrGarbled means the modem's reply did not hold what the command
	// asks for.
	ErrGarbled = errors.New("garbled reply")
)

// TimeoutError is a command the modem did not finish in time. Silent
// is set when nothing at all came back while it waited: the sign of a hung
// or vanished modem (a long +CMGL that is still arriving is not one).
type TimeoutError struct {
	After  time.Duration
	Silent bool
}

func (e *TimeoutError) Error() string {
	if e.Silent {
		return fmt.Sprintf("%v after %s", ErrTimeout, e.After)
	}
	return fmt.Sprintf("%v after %s (the modem sent something, but not the end of its answer)", ErrTimeout, e.After)
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// ATError is an error the modem answered with: "ERROR", "+CME ERROR: n"
// or "+CMS ERROR: n". Meaning is the code's meaning in words.
type ATError struct {
	Command string // without "AT"
	Kind    string // "CME", "CMS", or "" for a plain ERROR
	Code    int    // -1 when the modem gave text, not a number
	Meaning string
}

func (e *ATError) Error() string {
	switch {
	case e.Kind == "":
		return fmt.Sprintf("AT%s: ERROR", e.Command)
	case e.Code >= 0:
		return fmt.Sprintf("AT%s: +%s ERROR %d: %s", e.Command, e.Kind, e.Code, e.Meaning)
	}
	return fmt.Sprintf("AT%s: +%s ERROR: %s", e.Command, e.Kind, e.Meaning)
}

// atError turns the AT engine's error for cmd into an *ATError, or returns
// err unchanged.
func atError(cmd string, err error) error {
	var cme at.CMEError
	var cms at.CMSError
	switch {
	case errors.Is(err, at.ErrError):
		return &ATError{Command: cmd, Code: -1, Meaning: "error"}
	case errors.As(err, &cme):
		return newATError(cmd, "CME", string(cme), cmeMeanings)
	case errors.As(err, &cms):
		return newATError(cmd, "CMS", string(cms), cmsMeanings)
	}
	return err
}

func newATError(cmd, kind, val string, meanings map[int]string) *ATError {
	val = strings.TrimSpace(val)
	e := &ATError{Command: cmd, Kind: kind, Code: -1, Meaning: val}
	if n, err := strconv.Atoi(val); err == nil {
		e.Code = n
		e.Meaning = meanings[n]
		if e.Meaning == "" {
			e.Meaning = "unknown error code"
		}
	}
	return e
}

// cmeMeanings are 3GPP TS 27.007 §9.2 codes: modems differ in whether
// they give numbers or text even with +CMEE=2.
var cmeMeanings = map[int]string{
	0: "phone failure", 1: "no connection to phone", 3: "operation not allowed",
	4: "operation not supported", 5: "PH-SIM PIN required", 10: "SIM not inserted",
	11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
	15: "SIM wrong", 16: "incorrect password", 17: "SIM PIN2 required", 18: "SIM PUK2 required",
	20: "memory full", 21: "invalid index", 22: "not found", 23: "memory failure",
	24: "text string too long", 25: "invalid characters in text string",
	26: "dial string too long", 27: "invalid characters in dial string",
	30: "no network service", 31: "network timeout", 32: "network not allowed, emergency calls only",
	58: "unknown command", 100: "unknown error", 260: "invalid dial string",
}

// cmsMeanings are 3GPP TS 27.005 §3.2.5 codes.
var cmsMeanings = map[int]string{
	300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter",
	305: "invalid text mode parameter", 310: "SIM not inserted", 311: "SIM PIN required",
	312: "PH-SIM PIN required", 313: "SIM failure", 314: "SIM busy", 315: "SIM wrong",
	316: "SIM PUK required", 317: "SIM PIN2 required", 318: "SIM PUK2 required",
	320: "memory failure", 321: "invalid memory index", 322: "memory full",
	330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
	340: "no +CNMA acknowledgement expected", 500: "unknown error",
	// 0–127 are network causes (TS 24.011); the common ones:
	1: "unassigned number", 8: "operator determined barring", 10: "call barred",
	21: "short message transfer rejected", 27: "destination out of service",
	28: "unidentified subscriber", 29: "facility rejected", 30: "unknown subscriber",
	38: "network out of order", 41: "temporary failure", 42: "congestion",
	47: "resources unavailable", 50: "requested facility not subscribed",
	69: "requested facility not implemented", 96: "invalid mandatory information",
	111: "protocol error",
}
