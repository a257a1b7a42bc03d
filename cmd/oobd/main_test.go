package main

import (
	"strings"
	"testing"
)

func TestEveryCommandHasHelpAndUsageErrorsExit2(t *testing.T) {
	for _, c := range commands() {
		args := append(strings.Fields(c.words), "--help")
		out, errOut, code := runOobd(t, args...)
		if code != exitOK || !strings.Contains(out, "usage: oobd "+c.words) || errOut != "" {
			t.Errorf("oobd %s --help: exit %d, stdout %q, stderr %q", c.words, code, out, errOut)
		}
		args = append(strings.Fields(c.words), "--no-such-flag")
		if _, errOut, code := runOobd(t, args...); code != exitUsage || !strings.Contains(errOut, "no-such-flag") {
			t.Errorf("oobd %s --no-such-flag: exit %d, stderr %q", c.words, code, errOut)
		}
	}
	if _, errOut, code := runOobd(t, "frobnicate"); code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if out, _, code := runOobd(t, "--help"); code != exitOK || !strings.Contains(out, "modem simulate") {
		t.Errorf("oobd --help: exit %d, %q", code, out)
	}
}
