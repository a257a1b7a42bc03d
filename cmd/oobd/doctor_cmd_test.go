package main

import (
	"net"
	"strings"
	"testing"
)

// The command on this machine's real boundaries: a config whose identity
// file holds no key fails that check, and a failed check exits 1 with
// the report on stdout. (What each check says is oob/doctor's test.)
func TestDoctorExitsOneOnAFailedCheck(t *testing.T) {
	// A jump host on loopback that nothing listens on: no look-up leaves
	// the machine. (The config's known_hosts line is not a key.)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	jump := l.Addr().String()
	l.Close()
	_, cfg := writeConfig(t, "jump.oob.test:22", jump)
	out, errOut, code := runOobd(t, "doctor", "--config", cfg, "--timeout", "1s")
	if code != exitFailure || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
	for _, want := range []string{"Config and modem\n", "\nThe identity key\n", "  ✗ identity key ", "not a private key", "fix: ",
		"  ✗ known_hosts ", "problems (✗)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorUsage(t *testing.T) {
	_, cfg := writeConfig(t)
	for _, args := range [][]string{{"doctor", "--config", cfg, "extra"}, {"doctor", "--config", cfg, "--timeout", "0s"}} {
		if _, errOut, code := runOobd(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("oobd %s: exit %d, %q; want 2", args, code, errOut)
		}
	}
}
