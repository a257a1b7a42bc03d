//go:build linux

package ptytap_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/ptytap"
	"github.com/oobd/oobd/modem/modemsim"
	"golang.org/x/sys/unix"
)

// exchange writes cmd on the tap and reads until want arrives.
func exchange(t *testing.T, f *os.File, cmd, want string) {
	t.Helper()
	if _, err := f.WriteString(cmd); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	b := make([]byte, 256)
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !strings.Contains(got.String(), want) {
		n, err := f.Read(b)
		got.Write(b[:n])
		if err != nil {
			t.Fatalf("read after %q: %v (got %q)", cmd, err, got.String())
		}
	}
}

func TestTapCountsAndPassesHangups(t *testing.T) {
	sim, err := modemsim.New(modemsim.WithBootQuiet(0))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tap, err := ptytap.New(sim.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()

	open := func() *os.File {
		f, err := os.OpenFile(tap.Path(), os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := open()
	// Echo is on at power-on: the command comes back before OK.
	exchange(t, f, "AT\r", "OK\r\n")
	to, from := tap.Bytes()
	if to != 3 || from < int64(len("AT\r\r\nOK\r\n")) {
		t.Errorf("after AT: to line %d, from line %d", to, from)
	}
	f.Close()

	// After the client hangs up, the next one is served again. The
	// simulator records a command before it answers, so once OK is back
	// the list is complete.
	f = open()
	defer f.Close()
	exchange(t, f, "ATE0\r", "OK\r\n")
	if got := sim.Commands(); len(got) != 2 || got[0] != "AT" || got[1] != "ATE" {
		t.Errorf("simulator saw %q, want [AT ATE]", got)
	}
}
