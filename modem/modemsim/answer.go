package modemsim

import (
	"fmt"
	"strings"
	"time"
)

// This file turns bytes from the client into commands and writes the
// answers: echo, the +CMGS prompt, data mode, noise, delay and errors.

// reply is a command line's answer.
type reply struct {
	// chunks are information lines; lines of one chunk stay together
	// (a +CMGL header and its PDU), noise may land between chunks.
	chunks [][]string
	final  string // "OK", "ERROR", "+CMS ERROR: 321", "CONNECT", ...
	prompt bool   // final is the +CMGS prompt: no CRLF after it
	none   bool   // not an AT line: no answer at all
	after  func() // runs once the reply is out (a reset)
}

func (r *reply) add(lines ...string) { r.chunks = append(r.chunks, lines) }

// atError is a command's failure, shown according to +CMEE.
type atError struct {
	kind string // "" plain ERROR, "CME", "CMS"
	code int
}

func (e atError) Error() string { return fmt.Sprintf("%s ERROR %d", e.kind, e.code) }

func cmeError(code int) error { return atError{"CME", code} }
func cmsError(code int) error { return atError{"CMS", code} }

// errorText is a CME (27.007 §9.2) or CMS (27.005 §3.2.5) error's text.
func errorText(code int) (string, bool) {
	switch code {
	case 3, 302:
		return "operation not allowed", true
	case 4, 303:
		return "operation not supported", true
	case 10, 310:
		return "SIM not inserted", true
	case 11, 311:
		return "SIM PIN required", true
	case 12, 316:
		return "SIM PUK required", true
	case 13:
		return "SIM failure", true
	case 16:
		return "incorrect password", true
	case 21:
		return "invalid index", true
	case 30, 331:
		return "no network service", true
	case 50:
		return "incorrect parameters", true
	case 100:
		return "unknown", true
	case 300:
		return "ME failure", true
	case 304:
		return "invalid PDU mode parameter", true
	case 305:
		return "invalid text mode parameter", true
	case 320:
		return "memory failure", true
	case 321:
		return "invalid memory index", true
	case 322:
		return "memory full", true
	case 330:
		return "SMSC address unknown", true
	case 500:
		return "unknown error", true
	}
	return "", false
}

func (s *Simulator) errorLineLocked(err error) string {
	e, ok := err.(atError)
	if !ok || e.kind == "" || s.cmee == 0 {
		return "ERROR"
	}
	if s.cmee == 1 {
		return fmt.Sprintf("+%s ERROR: %d", e.kind, e.code)
	}
	txt, ok := errorText(e.code)
	if !ok {
		return fmt.Sprintf("+%s ERROR: %d", e.kind, e.code)
	}
	return fmt.Sprintf("+%s ERROR: %s", e.kind, txt)
}

const (
	ctrlZ = 0x1a
	esc   = 0x1b
)

// feed takes bytes from the client.
func (s *Simulator) feed(b []byte) {
	for len(b) > 0 {
		s.mu.Lock()
		if s.quietLocked() {
			// A hung or rebooting modem: what it is sent is lost.
			s.mu.Unlock()
			return
		}
		switch s.mode {
		case modeData:
			b = s.feedDataLocked(b)
		case modePrompt:
			b = s.feedPromptLocked(b)
		default:
			b = s.feedCommandLocked(b)
		}
	}
}

// feedCommandLocked collects a command line up to CR, echoing as it goes,
// then answers it. It is called with s.mu held and returns with it
// released.
func (s *Simulator) feedCommandLocked(b []byte) []byte {
	i := 0
	cr := false
	for ; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			cr = true
			i++
			break
		}
		switch {
		case c == '\n' || c == 0:
		case c == 0x08 || c == 0x7f:
			if len(s.buf) > 0 {
				s.buf = s.buf[:len(s.buf)-1]
			}
		case len(s.buf) <= maxLine:
			s.buf = append(s.buf, c)
		}
	}
	echo := s.echo
	var text string
	if cr {
		text = string(s.buf)
		s.buf = s.buf[:0]
	}
	s.mu.Unlock()
	if echo {
		s.line.write(b[:i])
	}
	if cr {
		s.answer(text)
	}
	return b[i:]
}

// feedPromptLocked collects a +CMGS body up to Ctrl-Z (send) or ESC
// (cancel). Called with s.mu held; returns with it released.
func (s *Simulator) feedPromptLocked(b []byte) []byte {
	i := 0
	end := byte(0)
	for ; i < len(b); i++ {
		c := b[i]
		if c == ctrlZ || c == esc {
			end = c
			i++
			break
		}
		if len(s.buf) < 4*maxLine {
			s.buf = append(s.buf, c)
		}
	}
	echo := s.echo
	body := string(s.buf)
	if end != 0 {
		s.buf = s.buf[:0]
		s.mode = modeCommand
	}
	s.mu.Unlock()
	if echo {
		s.line.write([]byte(strings.Map(func(r rune) rune {
			if r == ctrlZ || r == esc {
				return -1
			}
			return r
		}, string(b[:i]))))
	}
	switch end {
	case ctrlZ:
		s.answerSend(body)
	case esc:
		s.answerWith(func() reply { return reply{final: "OK"} })
	}
	return b[i:]
}

// feedDataLocked swallows a data call's bytes until "+++" ends the call.
// PPP is not simulated: the peer never answers LCP. Called with s.mu held;
// returns with it released.
func (s *Simulator) feedDataLocked(b []byte) []byte {
	for i, c := range b {
		if c != '+' {
			s.plusCount = 0
			continue
		}
		s.plusCount++
		if s.plusCount == 3 {
			s.plusCount = 0
			s.mode = modeCommand
			s.mu.Unlock()
			s.answerWith(func() reply { return reply{final: "OK"} })
			return b[i+1:]
		}
	}
	s.mu.Unlock()
	return nil
}

// answer runs a command line and writes its reply.
func (s *Simulator) answer(text string) {
	s.answerWith(func() reply { return s.execLocked(text) })
}

// answerWith runs exec under s.mu with the modem marked busy, then writes
// the reply: URCs held back, noise, information lines, delay, final code.
func (s *Simulator) answerWith(exec func() reply) {
	s.mu.Lock()
	s.busy = true
	r := exec()
	delay := s.delay
	pend := s.takePendingLocked()
	s.mu.Unlock()
	if !r.none {
		s.writeReply(r, pend, delay)
	}
	s.mu.Lock()
	s.busy = false
	pend = nil
	if s.mode == modeCommand {
		pend = s.takePendingLocked()
	}
	s.mu.Unlock()
	if len(pend) > 0 {
		s.writeLines(pend...)
	}
	if r.after != nil {
		r.after()
	}
}

func (s *Simulator) writeReply(r reply, pend []string, delay time.Duration) {
	// URCs that arrived while the command ran, then noise, land between
	// the echo and the reply, as on real modems.
	s.writeLines(pend...)
	s.writeLines(s.noiseLines()...)
	for i, c := range r.chunks {
		if i > 0 {
			s.writeLines(s.noiseLines()...)
		}
		s.writeLines(strings.Join(c, "\r\n"))
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
		}
	}
	s.mu.Lock()
	quiet := s.silent
	s.mu.Unlock()
	if quiet {
		return
	}
	if r.prompt {
		s.line.write([]byte("\r\n" + r.final))
		return
	}
	s.writeLines(r.final)
}

// noiseLines is the next unsolicited line when noise is on.
func (s *Simulator) noiseLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.noise || s.silent {
		return nil
	}
	all := []string{
		fmt.Sprintf("^RSSI:%d", s.csq),
		"^MODE:5,4",
		"^SRVST:2",
		fmt.Sprintf("+CREG: %d", s.regLocked()),
		"^BOOT:20786834,0,0,0,72",
	}
	for range all {
		l := all[s.noiseNext%len(all)]
		s.noiseNext++
		if s.curc == 0 && strings.HasPrefix(l, "^") {
			continue
		}
		if p, _, _ := strings.Cut(l, ":"); s.cfg.noURC[p] {
			continue
		}
		return []string{l}
	}
	return nil
}

// execLocked runs the commands of one line. Called with s.mu held.
func (s *Simulator) execLocked(text string) reply {
	cmds, ok, err := parseLine(text)
	if !ok {
		return reply{none: true}
	}
	if len(cmds) == 0 {
		s.received = append(s.received, "AT")
	}
	for _, c := range cmds {
		s.received = append(s.received, c.String())
	}
	if err != nil {
		return reply{final: "ERROR"}
	}
	r := reply{final: "OK"}
	for _, c := range cmds {
		h, found := s.cmds[c.Name]
		if !found {
			r.final = "ERROR"
			return r
		}
		if h.sim {
			if err := s.simReadyLocked(); err != nil {
				r.final = s.errorLineLocked(err)
				return r
			}
		}
		if err := h.run(s, c, &r); err != nil {
			r.final = s.errorLineLocked(err)
			return r
		}
		if r.prompt || r.final != "OK" {
			// +CMGS prompt or CONNECT: the rest of the line is not run.
			return r
		}
	}
	return r
}

func (s *Simulator) simReadyLocked() error {
	switch s.simState {
	case simPIN:
		return cmeError(11)
	case simPUK:
		return cmeError(12)
	}
	return nil
}
