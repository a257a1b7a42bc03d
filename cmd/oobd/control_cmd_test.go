package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpAndDownWithNoDaemon(t *testing.T) {
	dir, cfg := writeConfig(t)
	for _, verb := range []string{"up", "down", "drill"} {
		_, errOut, code := runOobd(t, verb, "--config", cfg)
		if code != 1 || !strings.Contains(errOut, "no oobd daemon is running") {
			t.Errorf("oobd %s with no daemon: exit %d, %q", verb, code, errOut)
		}
	}
	// A bad config is a usage problem: exit 2, naming the key.
	if err := os.WriteFile(cfg, []byte("state_dir: "+filepath.Join(dir, "state")+"\nsesion: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runOobd(t, "up", "--config", cfg); code != 2 || !strings.Contains(errOut, "sesion") {
		t.Errorf("oobd up with a bad config: exit %d, %q", code, errOut)
	}
	if _, _, code := runOobd(t, "up", "--for", "soon", "--config", cfg); code != 2 {
		t.Errorf("oobd up --for soon: exit %d, want 2", code)
	}
}
