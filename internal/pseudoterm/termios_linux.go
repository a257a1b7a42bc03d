package pseudoterm

import "golang.org/x/sys/unix"

// The termios requests differ by OS; the rest of the pty code does not.
const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)

// FlushInput discards what is queued for reading on fd.
func FlushInput(fd int) error { return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) }
