// Package serialport opens a serial device (a modem's AT port, a router's
// console) for blocking reads and writes, exclusively where the OS allows,
// with errors that name the device and say what to do about them.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
)

// DefaultBaud is used when Open is given a baud rate of 0.
const DefaultBaud = 115200

// Open opens the serial device at path in raw mode (8N1, no flow control)
// at the given baud rate. Reads block until data arrives; Close wakes a
// blocked Read, which then returns an error. The port is opened
// exclusively (TIOCEXCL) so a second program cannot interleave commands.
func Open(path string, baud int) (io.ReadWriteCloser, error) {
	if baud == 0 {
		baud = DefaultBaud
	}
	rwc, err := open(path, baud)
	if err != nil {
		return nil, describe(path, err)
	}
	return rwc, nil
}

// describe turns an open error into one that names the device and the
// likely cause, keeping the cause for errors.Is.
func describe(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("serialport: %s: no such device (modem unplugged, or it re-enumerated under another name: prefer a /dev/serial/by-id/ path): %w", path, err)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("serialport: %s: permission denied (run as root or add the user to the device's group, e.g. dialout on Debian, dialer on FreeBSD): %w", path, err)
	case errors.Is(err, syscall.EBUSY) || isBusy(err):
		return fmt.Errorf("serialport: %s: device busy, another program holds it open exclusively (likely ModemManager: stop it with 'systemctl stop ModemManager' or make it ignore the modem with a udev rule setting ENV{ID_MM_DEVICE_IGNORE}=\"1\"): %w", path, err)
	}
	return fmt.Errorf("serialport: %s: %w", path, err)
}
