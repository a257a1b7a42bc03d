package main

import (
	"os"
	"path/filepath"
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

func TestFirstExisting(t *testing.T) {
	dir := t.TempDir()
	pkg, hand := filepath.Join(dir, "etc.yaml"), filepath.Join(dir, "local.yaml")
	if got := firstExisting(pkg, hand); got != hand {
		t.Errorf("neither exists: %q, want the last, %q", got, hand)
	}
	if err := os.WriteFile(hand, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := firstExisting(pkg, hand); got != hand {
		t.Errorf("only the hand install's: %q", got)
	}
	if err := os.WriteFile(pkg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := firstExisting(pkg, hand); got != pkg {
		t.Errorf("both: %q, want the package's first", got)
	}
}
