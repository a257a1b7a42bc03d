package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// The example's placeholders are errors for check-config and run, each
// naming its key; nothing else in the example is.
func TestExamplePlaceholdersAreErrors(t *testing.T) {
	data, err := os.ReadFile("../../configs/oobd.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ExampleJumpHost, ExampleSender, ExampleUserKey} {
		if !strings.Contains(string(data), p) {
			t.Errorf("the example no longer has %q: update the placeholders", p)
		}
	}
	_, err = Parse("oobd.example.yaml", data, WithoutFileChecks(), WithGOOS("linux"), RejectPlaceholders())
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse: %v, want the placeholders as problems", err)
	}
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Path)
	}
	if got, want := strings.Join(keys, " "), "trigger.senders[0] tunnel.jump_host notify.pushover.user_key"; got != want {
		t.Errorf("problems on %s, want %s:\n%v", got, want, ps)
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		name  string
		edits []string // pairs of old, new in minimal.yaml
		want  []string // "" for none
	}{
		{"finished", []string{"jump.example.net", "jump.oob.test", `["+46701234567"]`, `["+46709876543"]`}, nil},
		{"example jump host", []string{`["+46701234567"]`, `["+46709876543"]`},
			[]string{"tunnel.jump_host: jump.example.net is a placeholder"}},
		{"any example domain", []string{"jump.example.net", "ssh.EXAMPLE.com.", `["+46701234567"]`, `["+46709876543"]`},
			[]string{"tunnel.jump_host: ssh.EXAMPLE.com. is a placeholder"}},
		{"a real domain that only looks alike", []string{"jump.example.net", "example.network", `["+46701234567"]`, `["+46709876543"]`}, nil},
		{"example sender, in national format too",
			[]string{"jump.example.net", "jump.oob.test", `["+46701234567"]`, "[\"+46709876543\", \"0701234567\"]\n  country_code: \"46\""},
			[]string{"trigger.senders[1]: 0701234567 is the example's placeholder"}},
		{"example Pushover user key",
			[]string{"jump.example.net", "jump.oob.test", `["+46701234567"]`, `["+46709876543"]`,
				"tunnel:", "notify:\n  pushover:\n    token_file: /etc/oobd/pushover.token\n    user_key: uQiRzpo4DXghDmr9QzzfQu27cmVRsG\ntunnel:"},
			[]string{"notify.pushover.user_key: the example's placeholder"}},
	}
	base, err := os.ReadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := strings.ReplaceAll(string(base), "DIR", "/nonexistent")
			for i := 0; i+1 < len(tt.edits); i += 2 {
				if !strings.Contains(y, tt.edits[i]) {
					t.Fatalf("no %q in minimal.yaml", tt.edits[i])
				}
				y = strings.Replace(y, tt.edits[i], tt.edits[i+1], 1)
			}
			_, err := Parse("oobd.yaml", []byte(y), WithoutFileChecks(), RejectPlaceholders())
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != len(tt.want) {
				t.Fatalf("Parse: %v; want %d problems", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(ps[i].String(), w) {
					t.Errorf("problem %q lacks %q", ps[i], w)
				}
			}
			// Tests and the demo borrow the example's values: without the
			// option they are fine.
			if _, err := Parse("oobd.yaml", []byte(y), WithoutFileChecks()); err != nil {
				t.Errorf("without RejectPlaceholders: %v", err)
			}
		})
	}
}
