package modemsim

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

// line is the simulator's end of the pseudo-terminal: the master side, plus
// what it takes to behave like a serial line that a client opens and closes
// at will.
//
// The simulator holds no slave fd of its own: while no client has the slave
// open, reads on the master fail with EIO (a hang-up) and the reader waits
// for the next open by polling. Output written while nobody listens would
// sit in the slave's input queue and greet the next client as stale bytes,
// so writes are dropped while the line is hung up (as a USB modem's bytes
// are lost while its port is closed), and the slave's input queue is flushed
// when a client goes away.
type line struct {
	master *os.File
	path   string

	mu     sync.Mutex // serialises writes: one reply or URC at a time
	closed atomic.Bool
}

// hangupPoll is how often a hung-up line is checked for a new client.
const hangupPoll = 20 * time.Millisecond

func openLine() (*line, error) {
	master, slave, err := pseudoterm.Open()
	if err != nil {
		return nil, fmt.Errorf("modemsim: %w", err)
	}
	// The slave is raw (the line discipline must not turn CR into LF, echo,
	// or eat Ctrl-Z), and the termios stays with the pty across re-opens.
	path := slave.Name()
	if err := slave.Close(); err != nil {
		master.Close()
		return nil, fmt.Errorf("modemsim: close %s: %w", path, err)
	}
	return &line{master: master, path: path}, nil
}

// errHangup is returned by read while no client has the slave open.
var errHangup = errors.New("modemsim: line hung up")

// read reads what the client wrote. It returns errHangup while nobody has
// the slave open and os.ErrClosed once the line is closed.
func (l *line) read(b []byte) (int, error) {
	n, err := l.master.Read(b)
	if err != nil && errors.Is(err, syscall.EIO) {
		return n, errHangup
	}
	return n, err
}

// connected reports whether a client has the slave open.
func (l *line) connected() bool {
	rc, err := l.master.SyscallConn()
	if err != nil {
		return false
	}
	hup := true
	cerr := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(fds, 0)
		hup = err != nil || (n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0)
	})
	return cerr == nil && !hup
}

// write sends b to the client, or drops it while nobody listens.
func (l *line) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() || len(b) == 0 || !l.connected() {
		return
	}
	// An error here is a client that went away mid-write: the bytes are
	// lost, as on a real line.
	_, _ = l.master.Write(b)
}

// flushStale discards output the last client left unread, so the next
// client does not read the end of someone else's conversation.
func (l *line) flushStale() {
	f, err := os.OpenFile(l.path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	_ = pseudoterm.FlushInput(int(f.Fd()))
	f.Close()
}

func (l *line) close() error {
	l.closed.Store(true)
	// Closing the master unblocks a pending read or write. Not under l.mu:
	// a write blocked on a client that reads nothing holds it.
	return l.master.Close()
}
