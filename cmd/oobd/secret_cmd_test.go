package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oobd/oobd/oob/trigger"
)

func TestNewSecret(t *testing.T) {
	if secretBits < 80 {
		t.Fatalf("secrets carry %d bits, want at least 80", secretBits)
	}
	shape := regexp.MustCompile(`^[2-9][2-9a-km-np-z]{17}$`) // no 0, 1, l, o, no capitals
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 2000 {
		s, err := newSecret(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(s) {
			t.Fatalf("secret %q is not %s", s, shape)
		}
		if _, verb := trigger.ParseVerb(s); verb || seen[s] {
			t.Fatalf("secret %q: a verb or a repeat", s)
		}
		seen[s] = true
		for _, r := range s[1:] {
			used[r] = true
		}
	}
	// Every symbol turns up: the alphabet is really 32 wide (5 bits).
	if len(used) != len(secretAlphabet) {
		t.Errorf("%d symbols used after the first character, want %d", len(used), len(secretAlphabet))
	}
	if _, err := newSecret(strings.NewReader("short")); err == nil {
		t.Error("a failing random source gave a secret")
	}
}

func TestSecretCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	out, errOut, code := runOobd(t, "secret", "--file", file)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	first := readSecretFile(t, file)
	if strings.Count(out, first) != 1 || !strings.HasPrefix(out, "secret: "+first+"\n") {
		t.Errorf("the secret is not shown once, as it was written:\n%s", out)
	}

	// An existing file is never replaced without --force.
	if _, errOut, code := runOobd(t, "secret", "--file", file); code != exitFailure || !strings.Contains(errOut, "exists") {
		t.Errorf("second run: exit %d, %s", code, errOut)
	}
	if got := readSecretFile(t, file); got != first {
		t.Errorf("the refused run changed the file: %q", got)
	}

	// --force replaces it whole, mode 0600 whatever it was, no debris.
	os.Chmod(file, 0o644)
	if _, errOut, code := runOobd(t, "secret", "--force", "--file", file); code != exitOK {
		t.Fatalf("--force: exit %d, %s", code, errOut)
	}
	if got := readSecretFile(t, file); got == first {
		t.Error("--force kept the old secret")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left in the directory: %v", ents)
	}

	// The secret passes the config's own checks for trigger.secret_file.
	cdir, cfg := writeConfig(t)
	runOobd(t, "secret", "--force", "--file", filepath.Join(cdir, "secret"))
	if out, errOut, code := runOobd(t, "check-config", "--config", cfg); code != exitOK {
		t.Errorf("check-config with a new secret: exit %d\n%s%s", code, out, errOut)
	}

	for _, args := range [][]string{{"secret"}, {"secret", "--file", file, "extra"}} {
		if _, _, code := runOobd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, _, code := runOobd(t, "secret", "--file", filepath.Join(dir, "no", "such", "dir")); code != exitFailure {
		t.Errorf("a missing directory: exit %d, want 1", code)
	}
}

// readSecretFile returns the secret in file after checking its mode.
func readSecretFile(t *testing.T, file string) string {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %04o, want 0600", file, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	s := string(b)
	if !strings.HasSuffix(s, "\n") || len(s) != secretLength+1 {
		t.Errorf("%s holds %q", file, s)
	}
	return strings.TrimSpace(s)
}
