package modem

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// wire sits between the serial port and the AT engine
// (github.com/warthog618/modem/at) and keeps the two in step.
//
// The engine has no notion of a command it gave up on: the late OK of a
// timed-out command completes whatever command is sent next. The wire
// keeps a queue of the commands written and not yet answered; a final
// result line (OK, ERROR, +CME/+CMS ERROR) answers the oldest. The answer
// to a command the modem abandoned is removed from the stream here, so
// the engine never sees it, and the modem writes no command while
// anything is still outstanding (see waitIdle). A modem answers in order,
// which is all this relies on.
type wire struct {
	port     io.ReadWriteCloser
	now      func() time.Time
	onAnswer func(time.Time) // each final result, for Stats
	// onLine sees every other line, in order, with the command it may
	// answer ("" when none is outstanding): so a URC is told from a reply
	// that shares its prefix (+CREG: after AT+CREG?) without a race.
	onLine func(line, answering string)

	mu          sync.Mutex // guards outstanding and closed; cond waits on it
	cond        *sync.Cond
	outstanding []sent // one per unanswered command, oldest first
	closed      bool

	// heard is when the modem last sent anything at all (UnixNano).
	heard atomic.Int64

	// read side, touched only by the engine's reader goroutine
	buf []byte
	in  []byte // bytes read, not yet handed on
	out []byte // bytes ready to hand on
}

// sent is one command written and not answered yet.
type sent struct {
	cmd       string // as written, without "AT" and the line end: "+CREG?"
	abandoned bool   // given up on: its answer is dropped
}

// maxLine bounds a line held back while waiting for its end: a modem
// spewing junk without line ends must not grow it forever.
const maxLine = 4096

func newWire(port io.ReadWriteCloser, now func() time.Time, onAnswer func(time.Time)) *wire {
	w := &wire{port: port, now: now, onAnswer: onAnswer, buf: make([]byte, 512)}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// Write counts a command line ("AT…") as outstanding. Escapes and the PDU
// that follows a "> " prompt expect no answer of their own.
func (w *wire) Write(b []byte) (int, error) {
	if len(b) >= 2 && (b[0] == 'A' || b[0] == 'a') && (b[1] == 'T' || b[1] == 't') {
		cmd := string(bytes.TrimRight(b[2:], "\r\n"))
		w.mu.Lock()
		w.outstanding = append(w.outstanding, sent{cmd: cmd})
		w.mu.Unlock()
	}
	return w.port.Write(b)
}

func (w *wire) Read(p []byte) (int, error) {
	for len(w.out) == 0 {
		n, err := w.port.Read(w.buf)
		if n > 0 {
			w.heard.Store(w.now().UnixNano())
			w.in = append(w.in, w.buf[:n]...)
			w.split()
			if len(w.in) > maxLine {
				w.out, w.in = append(w.out, w.in...), w.in[:0]
			}
		}
		if err != nil {
			if len(w.out) == 0 && len(w.in) > 0 {
				w.out, w.in = w.in, nil
			}
			if len(w.out) == 0 {
				w.markClosed()
				return 0, err
			}
			break
		}
	}
	n := copy(p, w.out)
	w.out = w.out[n:]
	return n, nil
}

// split moves every complete line from in to out, dropping the answers of
// abandoned commands. An SMS prompt ("> ", no line end) passes at once.
func (w *wire) split() {
	for {
		if len(w.in) > 0 && w.in[0] == '>' {
			w.out = append(w.out, w.in...)
			w.in = w.in[:0]
			return
		}
		i := bytes.IndexAny(w.in, "\r\n")
		if i < 0 {
			return
		}
		line := w.in[:i]
		// keep the terminator(s): an empty line is ignored by the engine
		j := i
		for j < len(w.in) && (w.in[j] == '\r' || w.in[j] == '\n') {
			j++
		}
		keep := true
		if isFinal(line) {
			keep = w.answered()
		} else if w.onLine != nil && len(bytes.TrimSpace(line)) > 0 {
			w.onLine(string(line), w.answering())
		}
		if keep {
			w.out = append(w.out, w.in[:j]...)
		} else {
			w.out = append(w.out, w.in[i:j]...)
		}
		w.in = w.in[j:]
	}
}

// answered pops the oldest outstanding command and reports whether its
// answer should be passed on.
func (w *wire) answered() bool {
	t := w.now()
	if w.onAnswer != nil {
		w.onAnswer(t)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := true
	if len(w.outstanding) > 0 {
		keep = !w.outstanding[0].abandoned
		w.outstanding = w.outstanding[1:]
	}
	w.cond.Broadcast()
	return keep
}

// abandon marks the newest outstanding command as given up on, so that its
// answer, should it come, is dropped.
func (w *wire) abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.outstanding); n > 0 {
		w.outstanding[n-1].abandoned = true
	}
}

// answering is the command the next reply line would belong to.
func (w *wire) answering() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.outstanding) == 0 {
		return ""
	}
	return w.outstanding[0].cmd
}

// heardSince reports whether the modem sent anything at t or later.
func (w *wire) heardSince(t time.Time) bool { return w.heard.Load() >= t.UnixNano() }

// idle reports whether no command is outstanding.
func (w *wire) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.outstanding) == 0
}

// waitIdle waits until every outstanding command has been answered, the
// port closes, or d passes. It reports whether the wire is idle.
func (w *wire) waitIdle(d time.Duration) bool {
	t := time.AfterFunc(d, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer t.Stop()
	deadline := w.now().Add(d)
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.outstanding) > 0 && !w.closed && w.now().Before(deadline) {
		w.cond.Wait()
	}
	return len(w.outstanding) == 0
}

// forget drops every outstanding command: the modem will not answer them
// (it hung, or was reset).
func (w *wire) forget() {
	w.mu.Lock()
	w.outstanding = nil
	w.mu.Unlock()
}

func (w *wire) markClosed() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *wire) Close() error { return w.port.Close() }

// isFinal reports whether line is a final result code that ends a command.
func isFinal(line []byte) bool {
	// Line noise before a result code must not hide it.
	line = bytes.TrimLeftFunc(line, func(r rune) bool { return r < 0x20 || r >= 0x7f })
	line = bytes.TrimSpace(line)
	return bytes.Equal(line, []byte("OK")) ||
		bytes.HasPrefix(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("+CME ERROR:")) ||
		bytes.HasPrefix(line, []byte("+CMS ERROR:"))
}
