package modem

import (
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// observation is what one port said while it was probed.
type observation struct {
	answered    bool // a final result code came back to a bare AT
	bytes       int  // everything that came back
	binary      bool // control or 8-bit bytes among it
	nmea        bool // GPS sentences ($GPGGA,…)
	echoed      bool // our own commands came back
	unsolicited []string
	// What the AT commands returned ("" when they were not asked or got
	// no answer).
	manufacturer, model, imei string
	sim                       SIMState
	sms                       smsSupport
}

// smsSupport is whether a port takes SMS commands.
type smsSupport string

const (
	smsUnknown smsSupport = "unknown"
	smsYes     smsSupport = "yes"
	smsNo      smsSupport = "no"
)

// probe asks port the few read-only questions that tell an AT port from
// a data, diagnostic or GPS port. Nothing it sends changes the modem's
// settings or starts a call: AT, +CGMI, +CGMM, +CGSN, +CPIN? and the SMS
// test command +CMGF=?. A port that does not answer a bare AT twice, each
// within timeout, is asked nothing more. probe closes port.
func probe(ctx context.Context, port io.ReadWriteCloser, timeout time.Duration) *observation {
	r := startLineReader(port)
	defer func() {
		r.stop()
		port.Close() // wakes the reader's Read
		<-r.done
	}()
	o := &observation{sim: SIMUnknown, sms: smsUnknown}
	ex := &exchanger{port: port, r: r, o: o, timeout: timeout}

	// A modem may drop the first command after the port opens (a stale
	// half-line in its buffer), so a silent port gets a second chance.
	for range 2 {
		if _, final, ok := ex.do(ctx, ""); ok {
			o.answered = isFinal([]byte(final))
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if o.answered {
		o.manufacturer, _ = ex.plain(ctx, "+CGMI")
		o.model, _ = ex.plain(ctx, "+CGMM")
		if v, _ := ex.plain(ctx, "+CGSN"); isDigits(v) {
			o.imei = v
		}
		if info, final, ok := ex.do(ctx, "+CPIN?"); ok {
			if v, found := field(info, "+CPIN:"); found && final == "OK" {
				o.sim = parseCPIN(v)
			} else {
				o.sim = SIMError
			}
		}
		if _, final, ok := ex.do(ctx, "+CMGF=?"); ok {
			if final == "OK" {
				o.sms = smsYes
			} else {
				o.sms = smsNo
			}
		}
	}
	o.bytes, o.binary = r.counts()
	return o
}

// exchanger sends one command at a time and sorts what comes back.
type exchanger struct {
	port    io.Writer
	r       *lineReader
	o       *observation
	timeout time.Duration
	dead    bool // a command went unanswered after AT did: ask no more
}

// do sends "AT"+cmd and returns the information lines and the final
// result code; ok is false when none came within the timeout.
func (e *exchanger) do(ctx context.Context, cmd string) (info []string, final string, ok bool) {
	if e.dead {
		return nil, "", false
	}
	if _, err := io.WriteString(e.port, "AT"+cmd+"\r"); err != nil {
		e.dead = true
		return nil, "", false
	}
	t := time.NewTimer(e.timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.dead = true
			return nil, "", false
		case <-t.C:
			if e.o.answered {
				e.dead = true
			}
			return nil, "", false
		case l, open := <-e.r.lines:
			if !open {
				e.dead = true
				return nil, "", false
			}
			l = strings.TrimSpace(l)
			switch {
			case l == "":
			case len(l) >= 2 && strings.EqualFold(l[:2], "AT"):
				e.o.echoed = true
			case isFinal([]byte(l)):
				return info, l, true
			case nmeaSentence.MatchString(l):
				e.o.nmea = true
			case isUnsolicited(l):
				if len(e.o.unsolicited) < 8 {
					e.o.unsolicited = append(e.o.unsolicited, l)
				}
			default:
				info = append(info, l)
			}
		}
	}
}

// plain asks for a one-line answer such as +CGMI's.
func (e *exchanger) plain(ctx context.Context, cmd string) (string, bool) {
	info, final, ok := e.do(ctx, cmd)
	if !ok || final != "OK" {
		return "", false
	}
	return plainLine(info, cmd)
}

var nmeaSentence = regexp.MustCompile(`^\$[A-Z]{5},`)

// isUnsolicited reports a result code a modem sends on its own (none of
// them answers what probe asks). Huawei sends its ^ lines only on the PC
// UI port, the one for AT and SMS.
func isUnsolicited(l string) bool {
	for _, p := range []string{"^", "+CMTI:", "+CREG:", "+CGREG:", "+CEREG:", "+CMT:", "+CDS:", "+CRING:", "RING", "+CUSD:", "+PACSP", "+QIND:", "RDY"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// lineReader reads a port in the background and hands out its lines
// (split at CR and LF). stop ends it; the port must be closed by then or
// soon after, which wakes a blocked Read.
type lineReader struct {
	lines chan string
	quit  chan struct{}
	done  chan struct{}

	mu     sync.Mutex // guards n and binary
	n      int
	binary bool
}

// maxProbeLine caps a line with no end in sight (a binary stream).
const maxProbeLine = 512

func startLineReader(port io.Reader) *lineReader {
	r := &lineReader{lines: make(chan string, 64), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(r.lines)
		buf := make([]byte, 256)
		var cur []byte
		send := func() bool {
			l := string(cur)
			cur = cur[:0]
			select {
			case r.lines <- l:
				return true
			case <-r.quit:
				return false
			}
		}
		for {
			n, err := port.Read(buf)
			r.mu.Lock()
			r.n += n
			for _, b := range buf[:n] {
				if (b < 0x20 && b != '\r' && b != '\n' && b != '\t') || b >= 0x7f {
					r.binary = true
				}
			}
			r.mu.Unlock()
			for _, b := range buf[:n] {
				if b == '\r' || b == '\n' {
					if len(cur) > 0 && !send() {
						return
					}
					continue
				}
				if cur = append(cur, b); len(cur) >= maxProbeLine && !send() {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

func (r *lineReader) counts() (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.binary
}

// stop tells the reader to drop what it has; it ends when its Read
// returns (the caller closes the port).
func (r *lineReader) stop() { close(r.quit) }
