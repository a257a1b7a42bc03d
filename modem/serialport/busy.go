package serialport

import (
	"errors"
	"syscall"

	"go.bug.st/serial"
)

// IsBusy reports whether err is an open refused because another program
// has the device open exclusively (TIOCEXCL): on FreeBSD, where there is
// no /proc to ask, that is how a port's holder shows.
func IsBusy(err error) bool {
	return errors.Is(err, syscall.EBUSY) || isCode(err, serial.PortBusy)
}
