package serialport

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// A pty shows no break to its master, so this only proves that the ioctl
// reaches a real tty descriptor and comes back.
func TestSendBreakOnPty(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	path := slave.Name()
	slave.Close()
	p, err := Open(path, 57600)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan error, 1)
	go func() { done <- SendBreak(p) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SendBreak on %s: %v", path, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendBreak did not return")
	}
}

type notAPort struct{ io.ReadWriteCloser }

func TestSendBreakErrors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	closed, _ := os.Open(os.DevNull)
	closed.Close()
	tests := []struct {
		name string
		p    io.ReadWriteCloser
		want error
	}{
		{"pipe", w, nil}, // not a tty: the kernel refuses (ENOTTY)
		{"closed file", closed, nil},
		{"no break at all", notAPort{}, errors.ErrUnsupported},
	}
	for _, tt := range tests {
		err := SendBreak(tt.p)
		if err == nil || !strings.HasPrefix(err.Error(), "serialport: break: ") {
			t.Errorf("%s: SendBreak = %v, want an error", tt.name, err)
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: SendBreak = %v, want %v", tt.name, err, tt.want)
		}
	}
}
