package serialport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"
)

func TestOpenReadWriteClose(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("no pty: %v", err)
	}
	defer master.Close()
	path := slave.Name()
	slave.Close()

	p, err := Open(path, 0)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	if _, err := master.Write([]byte("OK\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := p.Read(buf)
	if err != nil || string(buf[:n]) != "OK\r\n" {
		t.Fatalf("Read = %q, %v; want raw OK\\r\\n (no line discipline)", buf[:n], err)
	}
	if _, err := p.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	n, err = master.Read(buf)
	if err != nil || string(buf[:n]) != "AT\r" {
		t.Fatalf("master read %q, %v", buf[:n], err)
	}

	// Close must wake a blocked Read: the AT reader goroutine ends with it.
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(buf)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the reader block; correctness does not depend on it
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read after Close returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake a blocked Read")
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open("/dev/no-such-modem", 115200)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/dev/no-such-modem: no such device") {
		t.Errorf("missing device: %v", err)
	}
	file := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file, 115200); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("plain file: %v", err)
	}
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("no pty: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	if _, err := Open(slave.Name(), 12345); err == nil || !strings.Contains(err.Error(), "baud") {
		t.Errorf("odd baud rate: %v", err)
	}
}

// codeErr stands for a go.bug.st/serial error, which reports some errnos
// as a code only.
type codeErr serial.PortErrorCode

func (e codeErr) Error() string              { return "serial error" }
func (e codeErr) Code() serial.PortErrorCode { return serial.PortErrorCode(e) }

func TestDescribe(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{syscall.EBUSY, "ModemManager"},
		{&serial.PortError{}, "ModemManager"}, // its zero code is PortBusy
		{codeErr(serial.PortBusy), "ModemManager"},
		{syscall.EACCES, "permission denied"},
		{codeErr(serial.PermissionDenied), "permission denied"},
		{fmt.Errorf("open: %w", syscall.ENOENT), "no such device"},
		{codeErr(serial.PortNotFound), "no such device"},
		{codeErr(serial.InvalidSerialPort), "/dev/x: serial error"},
		{errors.New("odd"), "/dev/x: odd"},
	}
	for _, tt := range tests {
		got := describe("/dev/x", tt.err)
		if !strings.Contains(got.Error(), tt.want) || !strings.Contains(got.Error(), "/dev/x") || !errors.Is(got, tt.err) {
			t.Errorf("describe(%v) = %q, want it to name the device, say %q and wrap the cause", tt.err, got, tt.want)
		}
	}
}

func TestCheckBaud(t *testing.T) {
	for _, tt := range []struct {
		in, want int
		ok       bool
	}{
		{0, DefaultBaud, true},
		{115200, 115200, true},
		{9600, 9600, true},
		{921600, 921600, true},
		{12345, 0, false},
		{-9600, 0, false},
	} {
		got, err := checkBaud(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("checkBaud(%d) = %d, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "115200") {
			t.Errorf("checkBaud(%d) error %q does not list the rates", tt.in, err)
		}
	}
}

// The line go.bug.st/serial opens (FreeBSD): raw 8N1 at the rate asked,
// and no read timeout, which would make Read return (0, nil).
func TestPortMode(t *testing.T) {
	m := portMode(57600)
	want := serial.Mode{BaudRate: 57600, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	if *m != want {
		t.Errorf("portMode = %+v, want %+v", *m, want)
	}
}
