package modem

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// unsolicited is what the modem's unsolicited lines tell between two
// polls: new texts (+CMTI), the signal (Huawei ^RSSI), the registration
// (+CREG with +CREG=2), and the signs that the modem reset or the SIM
// changed (^BOOT, +CPIN, ^SIMST), after which identity and settings are
// read again. The wire hands every line over in order from the reader
// goroutine, with the command a reply would belong to, so that a +CREG:
// answering AT+CREG? is never taken for news.
type unsolicited struct {
	now     func() time.Time
	arrived func()

	mu       sync.Mutex // guards the fields below
	rssi     int        // last ^RSSI, valid when rssiSeen
	rssiSeen bool       // ^RSSI came since the port opened: the signal is kept current by it
	reg      Registration
	regURC   bool // +CREG=2 was accepted: every change is sent, reg stays current
	reset    bool // a sign the modem reset: check the settings
	boot     bool // ^BOOT is among the signs in reset
	simSign  bool // a sign the SIM changed or woke: read the identity again
	// bootChatter is set once a ^BOOT turned out not to be a reset (the
	// settings were intact): some Huawei firmwares send it periodically.
	bootChatter time.Time
}

// opened forgets what the previous port said.
func (u *unsolicited) opened() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rssiSeen, u.regURC, u.reset, u.boot, u.simSign = false, false, false, false, false
}

// heard takes one line the modem sent that was not a final result.
func (u *unsolicited) heard(line, answering string) {
	line = strings.TrimSpace(line)
	replyTo := func(cmd string) bool { return strings.HasPrefix(strings.ToUpper(answering), cmd) }
	switch {
	case strings.HasPrefix(line, "+CMTI:"):
		if _, ok := parseCMTI(line); ok {
			u.arrived()
		}
	case strings.HasPrefix(line, "^RSSI:"):
		n, err := strconv.Atoi(strings.TrimSpace(line[len("^RSSI:"):]))
		if err != nil || n < 0 || n > 99 {
			return
		}
		u.mu.Lock()
		u.rssi, u.rssiSeen = n, true
		u.mu.Unlock()
	case strings.HasPrefix(line, "+CREG:") && !replyTo("+CREG"):
		// Unsolicited: "+CREG: <stat>[,<lac>,<ci>[,<AcT>]]".
		f := splitCSV(strings.TrimSpace(line[len("+CREG:"):]))
		stat, err := atoiField(f, 0, "+CREG")
		if err != nil {
			return
		}
		u.mu.Lock()
		u.reg = registration(stat)
		u.mu.Unlock()
	case strings.HasPrefix(line, "^BOOT:"):
		u.mu.Lock()
		if u.bootChatter.IsZero() || u.now().Sub(u.bootChatter) > time.Hour {
			u.reset, u.boot = true, true
		}
		u.mu.Unlock()
	case strings.HasPrefix(line, "+CPIN:") && !replyTo("+CPIN"),
		strings.HasPrefix(line, "^SIMST:"):
		u.mu.Lock()
		u.reset, u.simSign = true, true
		u.mu.Unlock()
	}
}

// takeReset takes the sign of a reset seen since the last call; boot
// says whether a ^BOOT was among the signs.
func (u *unsolicited) takeReset() (reset, boot bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	reset, boot = u.reset, u.boot
	u.reset, u.boot = false, false
	return reset, boot
}

// takeSIM takes the sign of a SIM change seen since the last call.
func (u *unsolicited) takeSIM() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.simSign
	u.simSign = false
	return s
}

// noReset records that a ^BOOT turned out not to be a reset (the settings
// were intact): ^BOOT is ignored for an hour after that.
func (u *unsolicited) noReset() {
	u.mu.Lock()
	u.bootChatter = u.now()
	u.mu.Unlock()
}

// flag records a sign of a reset found by an operation (a command that
// failed where it should not).
func (u *unsolicited) flag() {
	u.mu.Lock()
	u.reset = true
	u.mu.Unlock()
}

// signal is the signal from ^RSSI, when the modem sends it.
func (u *unsolicited) signal() (rssi int, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rssi, u.rssiSeen
}

// registration is the registration kept current by unsolicited +CREG,
// when the modem sends it.
func (u *unsolicited) registration() (Registration, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reg, u.regURC
}

// setRegistration records a registration read with +CREG?.
func (u *unsolicited) setRegistration(r Registration) {
	u.mu.Lock()
	u.reg = r
	u.mu.Unlock()
}

// reportsRegistration records that the modem took +CREG=2: it sends
// every change of the registration from now on.
func (u *unsolicited) reportsRegistration() {
	u.mu.Lock()
	u.regURC = true
	u.mu.Unlock()
}
