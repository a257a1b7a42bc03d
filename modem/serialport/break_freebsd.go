package serialport

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fileBreak is tcsendbreak(3) as FreeBSD's libc does it: TIOCSBRK starts
// the break, TIOCCBRK ends it; the time between is the break's length.
func fileBreak(f *os.File) error {
	if err := control(f, func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCSBRK, 0) }); err != nil {
		return err
	}
	time.Sleep(breakDuration)
	return control(f, func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCCBRK, 0) })
}
