package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The demo is the whole production lifecycle with the simulator and the
// loopback link: running it is the fastest end-to-end test there is.
func TestDemoRunsTheWholeLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out, log bytes.Buffer
	if err := Run(ctx, &out, Options{Duration: 2 * time.Second, Dir: dir, Log: &log}); err != nil {
		t.Fatalf("demo: %v\n%s\nagent log:\n%s", err, out.String(), log.String())
	}
	story := out.String()
	for _, want := range []string{
		"stand-in 1: the modem simulator",
		"stand-in 2: a loopback link",
		"text accepted (audit log: accepted)",
		"self-check passed",
		`the box said: "oob-box (oobd demo)`,
		"ssh -F " + filepath.Join(dir, "ssh_config") + " oob-box",
		"torn down in reverse (tunnel, link, modem): time is up",
		`the modem sent the "link down" SMS to +46701234567`,
		"| oobd DOWN: time is up.",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("demo output lacks %q:\n%s", want, story)
		}
	}
	// The secret appears in the file it belongs in, and nowhere the agent writes.
	for _, f := range []string{"state/state.json", "state/audit.log"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret", f)
		}
	}
	if strings.Contains(log.String(), secret) || strings.Contains(story, secret) {
		t.Error("the secret was logged or printed")
	}
}
