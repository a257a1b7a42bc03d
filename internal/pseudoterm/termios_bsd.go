//go:build freebsd || darwin || netbsd || openbsd

package pseudoterm

import "golang.org/x/sys/unix"

// The termios requests differ by OS; the rest of the pty code does not.
const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// FlushInput discards what is queued for reading on fd.
func FlushInput(fd int) error {
	const fread = 0x1 // FREAD in <sys/fcntl.h>: flush the input queue
	return unix.IoctlSetPointerInt(fd, unix.TIOCFLUSH, fread)
}
