package main

import (
	"strings"
	"testing"
)

// A config still holding the example's placeholders is a config problem
// for check-config: exit 2, each naming its key.
func TestExamplePlaceholdersExit2(t *testing.T) {
	_, cfg := writeConfig(t, "jump.oob.test:22", "jump.example.net:22", `["+46709876543"]`, `["+46701234567"]`)
	_, errOut, code := runOobd(t, "check-config", "--config", cfg)
	if code != exitUsage {
		t.Errorf("exit %d, want 2: %s", code, errOut)
	}
	for _, key := range []string{"tunnel.jump_host: jump.example.net is a placeholder", "trigger.senders[0]: +46701234567 is the example's placeholder"} {
		if !strings.Contains(errOut, key) {
			t.Errorf("stderr lacks %q:\n%s", key, errOut)
		}
	}
}
