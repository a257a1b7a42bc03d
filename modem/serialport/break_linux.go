package serialport

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileBreak is tcsendbreak(fd, 0): TCSBRK with 0 asks the kernel for a
// break of 0.25 to 0.5 s and returns when it is over.
func fileBreak(f *os.File) error {
	return control(f, func(fd int) error { return unix.IoctlSetInt(fd, unix.TCSBRK, 0) })
}
