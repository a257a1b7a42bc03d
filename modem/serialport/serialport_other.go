//go:build !linux

package serialport

import (
	"errors"
	"io"

	"go.bug.st/serial"
)

// open uses go.bug.st/serial, which is pure Go on FreeBSD (tarm/serial
// needs cgo there). It sets TIOCEXCL itself, and its Close wakes a blocked
// Read. No read timeout is set: on timeout it returns (0, nil), which the
// AT line reader treats as no progress and then as a closed port.
func open(path string, baud int) (io.ReadWriteCloser, error) {
	return serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
}

func isBusy(err error) bool {
	var pe *serial.PortError
	return errors.As(err, &pe) && pe.Code() == serial.PortBusy
}
