package serialport

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// open configures the tty itself rather than through github.com/tarm/serial,
// which the spec names for Linux: tarm switches the descriptor to blocking
// mode, so Close cannot wake a goroutine blocked in read(2). That reader
// would outlive every re-open of the recovery ladder and steal bytes from
// the next session on the same tty. A non-blocking descriptor in the Go
// runtime's poller reads just as blocking, and Close interrupts it. Having
// the descriptor also gives us TIOCEXCL, which tarm does not offer.
func open(path string, baud int) (io.ReadWriteCloser, error) {
	speed, ok := linuxSpeed(baud)
	if !ok {
		return nil, fmt.Errorf("unsupported baud rate %d", baud)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := configure(f, speed); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func configure(f *os.File, speed uint32) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			cerr = fmt.Errorf("not a serial device: %w", err)
			return
		}
		rawTermios(t, speed)
		if err := unix.IoctlSetTermios(int(fd), unix.TCSETS, t); err != nil {
			cerr = fmt.Errorf("set termios: %w", err)
			return
		}
		// Exclusive: a second open (ModemManager's probe, another oobd) now
		// fails with EBUSY. Root is exempt on Linux.
		if err := unix.IoctlSetInt(int(fd), unix.TIOCEXCL, 0); err != nil {
			cerr = fmt.Errorf("TIOCEXCL: %w", err)
		}
	})
	if err != nil {
		return err
	}
	return cerr
}
