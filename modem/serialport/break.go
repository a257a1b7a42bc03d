package serialport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// breakDuration is how long SendBreak holds the line at space where the
// OS leaves the length to us: the 0.25 s tcsendbreak(3) uses, well above
// what Cisco, Juniper and Sun consoles take as a BREAK.
const breakDuration = 250 * time.Millisecond

// SendBreak sends a BREAK on a port Open returned (or on any *os.File that
// is a tty): the line held at space for about 0.25 s, which router
// consoles take as "stop and enter the ROM monitor" (Cisco and Juniper
// password recovery). It returns once the break is over.
func SendBreak(p io.ReadWriteCloser) error {
	var err error
	switch p := p.(type) {
	case *os.File:
		err = fileBreak(p)
	case interface{ Break(time.Duration) error }: // go.bug.st/serial's port
		err = p.Break(breakDuration)
	default:
		err = fmt.Errorf("%T: %w", p, errors.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("serialport: break: %w", err)
	}
	return nil
}

// control runs f on f's descriptor, returning f's error or the runtime's.
func control(file *os.File, f func(fd int) error) error {
	rc, err := file.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
