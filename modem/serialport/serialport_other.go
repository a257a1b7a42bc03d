//go:build !linux

package serialport

import (
	"io"

	"go.bug.st/serial"
)

// open uses go.bug.st/serial, which is pure Go on FreeBSD (tarm/serial
// needs cgo there). It sets TIOCEXCL itself, and its Close wakes a blocked
// Read.
func open(path string, baud int) (io.ReadWriteCloser, error) {
	return serial.Open(path, portMode(baud))
}
