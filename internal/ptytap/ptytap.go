//go:build linux

// Package ptytap puts a pseudo-terminal in front of a serial line (in the
// benches, the modem simulator's pty) and counts the bytes that cross it
// each way. A client opens the tap's Path as its serial port; what it
// writes reaches the line and the line's answers come back. The tap opens
// the line when the client first writes and closes it when the client
// closes the tap, so the line sees the client's hang-ups as its own.
//
// It is a test helper: it adds a copy each way, so it is for counting, not
// for timing.
package ptytap

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oobd/oobd/internal/pseudoterm"
	"golang.org/x/sys/unix"
)

// hangupPoll is how often a tap nobody has open is checked for a client.
const hangupPoll = 20 * time.Millisecond

// Tap is a counting pty in front of a serial line.
type Tap struct {
	master *os.File
	path   string
	target string

	toLine, fromLine atomic.Int64

	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu   sync.Mutex // guards line
	line *os.File   // the target, open while a client has the tap open
}

// New opens a tap in front of the serial line at target.
func New(target string) (*Tap, error) {
	master, slave, err := pseudoterm.Open()
	if err != nil {
		return nil, fmt.Errorf("ptytap: %w", err)
	}
	// Raw until the client sets its own termios.
	path := slave.Name()
	if err := slave.Close(); err != nil {
		master.Close()
		return nil, fmt.Errorf("ptytap: %s: %w", path, err)
	}
	t := &Tap{master: master, path: path, target: target, done: make(chan struct{})}
	t.wg.Add(1)
	go t.serve()
	return t, nil
}

// Path is the tap's pty: what a client opens in place of the line.
func (t *Tap) Path() string { return t.path }

// Bytes returns how many bytes the client sent to the line and the line
// sent back to the client, since New.
func (t *Tap) Bytes() (toLine, fromLine int64) { return t.toLine.Load(), t.fromLine.Load() }

// Close stops the tap and closes both sides; it waits for its goroutines.
func (t *Tap) Close() error {
	var err error
	t.once.Do(func() {
		close(t.done)
		err = t.master.Close()
		t.closeLine()
		t.wg.Wait()
	})
	return err
}

// serve copies what the client writes to the line, opening the line on
// the client's first bytes and closing it when the client hangs up.
func (t *Tap) serve() {
	defer t.wg.Done()
	b := make([]byte, 4096)
	for {
		n, err := t.master.Read(b)
		if n > 0 {
			if line := t.openLine(); line != nil {
				// Counted before the write, so the line's answer can never
				// be seen before the bytes it answers are counted.
				t.toLine.Add(int64(n))
				if w, _ := line.Write(b[:n]); w < n {
					t.toLine.Add(int64(max(w, 0) - n))
				}
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, syscall.EIO):
			// Nobody has the tap open: the client hung up.
			t.closeLine()
			select {
			case <-t.done:
				return
			case <-time.After(hangupPoll):
			}
		default:
			return
		}
	}
}

// openLine returns the line, opening it (and its reader) if needed; nil
// when it cannot be opened, and the client's bytes are lost, as on a
// modem that went away.
func (t *Tap) openLine() *os.File {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.line != nil {
		return t.line
	}
	select {
	case <-t.done:
		return nil
	default:
	}
	// O_NONBLOCK puts the pty on the runtime poller, so Close wakes a Read.
	f, err := os.OpenFile(t.target, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	t.line = f
	t.wg.Add(1)
	go t.copyBack(f)
	return f
}

// copyBack copies the line's output to the client until the line closes.
func (t *Tap) copyBack(line *os.File) {
	defer t.wg.Done()
	b := make([]byte, 4096)
	for {
		n, err := line.Read(b)
		if n > 0 {
			// Counted before the write, so a client never reads bytes
			// Bytes does not yet include. A write to a tap whose client
			// went away fails: those bytes reached no one and are taken
			// back off.
			t.fromLine.Add(int64(n))
			if w, _ := t.master.Write(b[:n]); w < n {
				t.fromLine.Add(int64(max(w, 0) - n))
			}
		}
		if err != nil {
			return
		}
	}
}

func (t *Tap) closeLine() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.line != nil {
		t.line.Close()
		t.line = nil
	}
}
