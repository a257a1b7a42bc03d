package serialport

import "golang.org/x/sys/unix"

// linuxSpeed is the termios speed code for baud. The codes are the
// architecture's (x/sys/unix), which is why this is in a Linux file; the
// rates it must know are bauds, and a test holds the two together.
func linuxSpeed(baud int) (uint32, bool) {
	switch baud {
	case 1200:
		return unix.B1200, true
	case 2400:
		return unix.B2400, true
	case 4800:
		return unix.B4800, true
	case 9600:
		return unix.B9600, true
	case 19200:
		return unix.B19200, true
	case 38400:
		return unix.B38400, true
	case 57600:
		return unix.B57600, true
	case 115200:
		return unix.B115200, true
	case 230400:
		return unix.B230400, true
	case 460800:
		return unix.B460800, true
	case 921600:
		return unix.B921600, true
	}
	return 0, false
}

// rawTermios makes t a raw 8N1 line at speed: no input or output
// processing, no echo, no line editing or signals, the receiver on, the
// modem control lines ignored (a modem's AT port has no carrier before a
// call), and a read returns as soon as one byte is there.
func rawTermios(t *unix.Termios, speed uint32) {
	t.Iflag = unix.IGNPAR
	t.Oflag = 0
	t.Lflag = 0
	t.Cflag = unix.CREAD | unix.CLOCAL | unix.CS8 | speed
	t.Ispeed, t.Ospeed = speed, speed
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
}
