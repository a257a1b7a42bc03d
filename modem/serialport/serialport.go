// Package serialport opens a serial device (a modem's AT port, a router's
// console) for blocking reads and writes, exclusively where the OS allows,
// with errors that name the device and say what to do about them.
//
// Linux configures the tty itself (termios through golang.org/x/sys/unix
// on a non-blocking descriptor, TIOCEXCL); elsewhere (FreeBSD)
// go.bug.st/serial does. What either asks for is decided here, in code
// that builds and is tested on every OS; only the calls are per OS.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"syscall"

	"go.bug.st/serial"
)

// DefaultBaud is used when Open is given a baud rate of 0.
const DefaultBaud = 115200

// Open opens the serial device at path in raw mode (8N1, no flow control)
// at the given baud rate. Reads block until data arrives; Close wakes a
// blocked Read, which then returns an error. The port is opened
// exclusively (TIOCEXCL) so a second program cannot interleave commands.
func Open(path string, baud int) (io.ReadWriteCloser, error) {
	baud, err := checkBaud(baud)
	if err != nil {
		return nil, describe(path, err)
	}
	rwc, err := open(path, baud)
	if err != nil {
		return nil, describe(path, err)
	}
	return rwc, nil
}

// bauds are the rates Open accepts, on every OS.
func bauds() []int {
	return []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}
}

// checkBaud returns the rate to open at: baud, DefaultBaud for 0, or an
// error for a rate not in bauds.
func checkBaud(baud int) (int, error) {
	if baud == 0 {
		return DefaultBaud, nil
	}
	if !slices.Contains(bauds(), baud) {
		return 0, fmt.Errorf("unsupported baud rate %d (one of %v)", baud, bauds())
	}
	return baud, nil
}

// portMode is the line go.bug.st/serial opens: raw 8N1 at baud, no flow
// control. No read timeout is set: on timeout it returns (0, nil), which
// the AT line reader treats as no progress and then as a closed port.
func portMode(baud int) *serial.Mode {
	return &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
}

// portCode is go.bug.st/serial's code for err, where it has one: that
// library reports EBUSY and EACCES as codes without the errno.
func portCode(err error) (serial.PortErrorCode, bool) {
	var c interface{ Code() serial.PortErrorCode }
	if errors.As(err, &c) {
		return c.Code(), true
	}
	return 0, false
}

func isCode(err error, want serial.PortErrorCode) bool {
	code, ok := portCode(err)
	return ok && code == want
}

// describe turns an open error into one that names the device and the
// likely cause, keeping the cause for errors.Is.
func describe(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT) || isCode(err, serial.PortNotFound):
		return fmt.Errorf("serialport: %s: no such device (modem unplugged, or it re-enumerated under another name: prefer a /dev/serial/by-id/ path): %w", path, err)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || isCode(err, serial.PermissionDenied):
		return fmt.Errorf("serialport: %s: permission denied (run as root or add the user to the device's group, e.g. dialout on Debian, dialer on FreeBSD): %w", path, err)
	case errors.Is(err, syscall.EBUSY) || isCode(err, serial.PortBusy):
		return fmt.Errorf("serialport: %s: device busy, another program holds it open exclusively (likely ModemManager: stop it with 'systemctl stop ModemManager' or make it ignore the modem with a udev rule setting ENV{ID_MM_DEVICE_IGNORE}=\"1\"): %w", path, err)
	}
	return fmt.Errorf("serialport: %s: %w", path, err)
}
