// Package pseudoterm opens pseudo-terminals that behave like the serial
// lines they stand in for: the master on Go's poller (so that Close wakes
// a blocked Read) and the slave in raw mode (no echo, no CR/LF mapping, no
// signals from Ctrl-C or Ctrl-Z).
package pseudoterm

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Open opens a pseudo-terminal: the master, non-blocking on the poller,
// and the slave, in raw mode. The slave's path is slave.Name(); the
// termios stays with the pty when the slave is closed and opened again.
func Open() (master, slave *os.File, err error) {
	master, slave, err = pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	if err := MakeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, fmt.Errorf("raw mode on %s: %w", slave.Name(), err)
	}
	if master, err = pollable(master); err != nil {
		slave.Close()
		return nil, nil, fmt.Errorf("pty master: %w", err)
	}
	return master, slave, nil
}

// pollable returns f as a non-blocking file on the runtime poller. pty.Open
// calls Fd on the master, which leaves it in blocking mode: a read or write
// blocked in the kernel would then survive Close and hang it.
func pollable(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.Dup(int(fd)) }); err != nil {
		derr = err
	}
	name := f.Name()
	f.Close()
	if derr != nil {
		return nil, derr
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	// NewFile puts a non-blocking descriptor on the poller.
	return os.NewFile(uintptr(nfd), name), nil
}

// MakeRaw puts the terminal f in raw mode: 8 bits, no echo, no line
// editing, no CR/LF mapping, no flow control, no signals.
func MakeRaw(f *os.File) error {
	// Through SyscallConn, not Fd: Fd would put the file in blocking mode
	// and read deadlines would stop working.
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var terr error
	if err := rc.Control(func(fd uintptr) { terr = setRaw(int(fd)) }); err != nil {
		return err
	}
	return terr
}

func setRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}
