package serialport

import (
	"errors"
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
	speed, ok := bauds[baud]
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
		// Raw 8N1, receiver on, modem control lines ignored.
		t.Iflag = unix.IGNPAR
		t.Oflag = 0
		t.Lflag = 0
		t.Cflag = unix.CREAD | unix.CLOCAL | unix.CS8 | speed
		t.Ispeed, t.Ospeed = speed, speed
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
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

func isBusy(err error) bool { return errors.Is(err, unix.EBUSY) }

var bauds = map[int]uint32{
	1200: unix.B1200, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
	19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600,
	115200: unix.B115200, 230400: unix.B230400, 460800: unix.B460800,
	921600: unix.B921600,
}
