package main

import (
	"strings"
	"testing"
)

// The command on this machine's real boundaries: a config whose identity
// file holds no key fails that check, and a failed check exits 1 with
// the report on stdout. (What each check says is oob/doctor's test.)
func TestDoctorExitsOneOnAFailedCheck(t *testing.T) {
	_, cfg := writeConfig(t)
	out, errOut, code := runOobd(t, "doctor", "--config", cfg, "--timeout", "1s")
	if code != exitFailure || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
	for _, want := range []string{"Config and modem\n", "\nThe identity key\n", "  ✗ identity key ", "not a private key", "fix: ", "problem"} {
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
