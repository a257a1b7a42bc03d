package config

import (
	"os"
	"testing"
	"time"
)

// The example config in configs/ is what operators copy: it must parse,
// for both operating systems, with every key the schema has.
func TestExampleConfigParses(t *testing.T) {
	data, err := os.ReadFile("../../configs/oobd.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"linux", "freebsd"} {
		cfg, err := Parse("oobd.example.yaml", data, WithoutFileChecks(), WithGOOS(goos))
		if err != nil {
			t.Fatalf("%s: %v", goos, err)
		}
		if cfg.Session.Duration != 30*time.Minute || len(cfg.Tunnel.Forwards) == 0 || cfg.Tunnel.JumpHost == "" {
			t.Errorf("%s: the example lost its values: %+v", goos, cfg)
		}
	}
}
