package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	errNotOpen = errors.New("the console device is not open")
	errHungUp  = errors.New("hung up") // a tty read 0 bytes: unplugged
)

// runDevice owns the device: it opens it, is its only reader, and
// re-opens it after any failure, waiting longer after each failed try.
func (b *Bridge) runDevice() {
	defer b.wg.Done()
	delay := b.backoffFirst
	for {
		p, err := b.open(b.cfg.Device, b.cfg.Baud)
		if err != nil {
			b.openFailed(err)
		} else {
			if !b.attach(p) {
				p.Close()
				return
			}
			opened := b.clock.Now()
			err := b.pump(p)
			p.Close()
			if !b.detach(p, err) {
				return
			}
			// A device that stayed a while gets the quick retry a
			// re-plug deserves; one that fails at once keeps backing off.
			if b.clock.Now().Sub(opened) >= b.backoffMax {
				delay = b.backoffFirst
			}
		}
		if !b.sleep(delay) {
			return
		}
		delay = min(2*delay, b.backoffMax)
	}
}

// pump reads the device until it fails and fans its output out.
func (b *Bridge) pump(p Port) error {
	buf := make([]byte, 4096)
	for {
		n, err := p.Read(buf)
		if n > 0 {
			b.fanOut(bytes.Clone(buf[:n]))
		}
		switch {
		case err != nil:
			return err
		case n == 0: // no error and no data: a hung-up tty
			return io.EOF
		}
	}
}

// attach makes p the open device; false means the bridge has closed.
func (b *Bridge) attach(p Port) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.port, b.cause = p, nil
	b.state = State{Open: true, Since: b.clock.Now()}
	msg := "console device open"
	if b.everOpen {
		msg = "console device back"
	}
	b.everOpen = true
	for c := range b.clients {
		c.toldDropped = false
		b.tell(c, msg)
	}
	st := b.state
	b.mu.Unlock()
	b.log.Info(msg)
	b.changed(st)
	return true
}

// detach records that p failed with err; false means the bridge has
// closed (and err is only the close).
func (b *Bridge) detach(p Port, err error) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	switch {
	case b.cause != nil: // a writer saw it first, and closed p to wake us
		err = b.cause
	case errors.Is(err, io.EOF):
		err = errHungUp
	}
	b.port, b.cause = nil, nil
	b.state = State{Since: b.clock.Now(), Err: err.Error()}
	for c := range b.clients {
		b.tell(c, fmt.Sprintf("console device gone (%v), re-opening...", err))
	}
	st := b.state
	b.mu.Unlock()
	b.log.Warn("console device gone, re-opening", "err", err)
	b.changed(st)
	return true
}

// openFailed records a failed open; only a new reason is logged, so a
// device unplugged for a month does not fill the log.
func (b *Bridge) openFailed(err error) {
	b.mu.Lock()
	if b.state.Err == err.Error() {
		b.mu.Unlock()
		return
	}
	b.state.Err = err.Error()
	st := b.state
	b.mu.Unlock()
	b.log.Warn("console device not open, retrying", "err", err)
	b.changed(st)
}

func (b *Bridge) changed(st State) {
	if b.onState != nil {
		b.onState(st)
	}
}

// writeDevice sends a client's keystrokes to the router. A failed write
// closes the device, so that its reader sees it and re-opens.
func (b *Bridge) writeDevice(p Port, data []byte) {
	b.writeMu.Lock()
	_, err := p.Write(data)
	b.writeMu.Unlock()
	if err == nil {
		return
	}
	b.mu.Lock()
	if b.port == p && b.cause == nil {
		b.cause = err
	}
	b.mu.Unlock()
	p.Close()
}

// sendBreak sends a BREAK, after any keystrokes being written.
func (b *Bridge) sendBreak(p Port) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return p.SendBreak()
}

// fanOut hands what the router printed to the history, the log and
// every client.
func (b *Bridge) fanOut(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h := b.cfg.History; h > 0 {
		b.history = append(b.history, p...)
		if len(b.history) > 2*h { // trim now and then, not on every read
			b.history = append(b.history[:0], b.history[len(b.history)-h:]...)
		}
	}
	if b.logf != nil {
		b.writeLog(p)
	}
	var escaped []byte
	for c := range b.clients {
		q := p
		if c.telnet.Load() {
			if escaped == nil {
				escaped = escapeIAC(p)
			}
			q = escaped
		}
		b.send(c, q)
	}
}

// lastOutput is the history's last cfg.History bytes. Called with mu held.
func (b *Bridge) lastOutput() []byte {
	h := b.history
	if len(h) > b.cfg.History {
		h = h[len(h)-b.cfg.History:]
	}
	return bytes.Clone(h)
}

func (b *Bridge) openLog() error {
	f, err := os.OpenFile(b.cfg.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("console: log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("console: log: %w", err)
	}
	b.logf, b.logSize = f, fi.Size()
	return nil
}

// writeLog appends to the log, rotating it at LogMax. Called with mu held.
func (b *Bridge) writeLog(p []byte) {
	if b.cfg.LogMax > 0 && b.logSize+int64(len(p)) > b.cfg.LogMax {
		b.logf.Close()
		b.logf = nil
		if err := os.Rename(b.cfg.LogFile, b.cfg.LogFile+".1"); err != nil {
			b.log.Warn("console log rotate", "err", err)
		}
		if err := b.openLog(); err != nil {
			b.log.Warn("console log", "err", err)
			return
		}
	}
	n, err := b.logf.Write(p)
	b.logSize += int64(n)
	switch {
	case err != nil && !b.logFailed:
		b.logFailed = true
		b.log.Warn("console log write", "err", err)
	case err == nil:
		b.logFailed = false
	}
}
