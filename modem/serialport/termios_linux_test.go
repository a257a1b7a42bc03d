package serialport

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Every rate Open accepts has a speed code, each its own.
func TestLinuxSpeedCoversBauds(t *testing.T) {
	seen := map[uint32]int{}
	for _, b := range bauds() {
		s, ok := linuxSpeed(b)
		if !ok {
			t.Errorf("no speed code for %d", b)
			continue
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("%d and %d share speed code %#o", prev, b, s)
		}
		seen[s] = b
	}
	if _, ok := linuxSpeed(12345); ok {
		t.Error("a speed code for 12345")
	}
}

func TestRawTermios(t *testing.T) {
	// A cooked tty as a getty leaves it: canonical, echoing, CR→NL, 7E1
	// with hardware flow control.
	tio := unix.Termios{
		Iflag: unix.ICRNL | unix.IXON | unix.ISTRIP,
		Oflag: unix.OPOST | unix.ONLCR,
		Lflag: unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN,
		Cflag: unix.CS7 | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.HUPCL | unix.B9600,
	}
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 0, 5
	rawTermios(&tio, unix.B115200)

	if tio.Iflag != unix.IGNPAR || tio.Oflag != 0 || tio.Lflag != 0 {
		t.Errorf("iflag %#o oflag %#o lflag %#o: input and output processing not all off", tio.Iflag, tio.Oflag, tio.Lflag)
	}
	if tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&(unix.PARENB|unix.CSTOPB|unix.CRTSCTS|unix.HUPCL) != 0 {
		t.Errorf("cflag %#o: want 8N1 without flow control or hang-up on close", tio.Cflag)
	}
	if tio.Cflag&(unix.CREAD|unix.CLOCAL) != unix.CREAD|unix.CLOCAL {
		t.Errorf("cflag %#o: receiver off or modem lines watched", tio.Cflag)
	}
	if tio.Cflag&unix.CBAUD != unix.B115200 || tio.Ispeed != unix.B115200 || tio.Ospeed != unix.B115200 {
		t.Errorf("speed cflag %#o ispeed %#o ospeed %#o, want B115200", tio.Cflag&unix.CBAUD, tio.Ispeed, tio.Ospeed)
	}
	if tio.Cc[unix.VMIN] != 1 || tio.Cc[unix.VTIME] != 0 {
		t.Errorf("VMIN %d VTIME %d, want a read to return at the first byte", tio.Cc[unix.VMIN], tio.Cc[unix.VTIME])
	}
}
