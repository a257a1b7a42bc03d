package main

import (
	"strings"
	"testing"
)

func TestGroupHelpListsSubcommands(t *testing.T) {
	tests := []struct {
		word string
		subs []string
	}{
		{"modem", []string{"find", "info", "simulate"}},
		{"sms", []string{"list", "send", "delete"}},
	}
	for _, tt := range tests {
		for _, help := range []string{"--help", "-h"} {
			out, errOut, code := runOobd(t, tt.word, help)
			if code != exitOK || errOut != "" || !strings.HasPrefix(out, "usage: oobd "+tt.word+" SUBCOMMAND") {
				t.Errorf("oobd %s %s: exit %d, stderr %q\n%s", tt.word, help, code, errOut, out)
			}
			for _, s := range tt.subs {
				if !strings.Contains(out, "\n  "+s+" ") {
					t.Errorf("oobd %s %s does not list %q:\n%s", tt.word, help, s, out)
				}
			}
		}
		// Without a subcommand, or with an unknown one: usage, exit 2.
		if out, errOut, code := runOobd(t, tt.word); code != exitUsage || out != "" || !strings.Contains(errOut, "want a subcommand") ||
			!strings.Contains(errOut, "usage: oobd "+tt.word) {
			t.Errorf("oobd %s: exit %d, stdout %q, stderr %q", tt.word, code, out, errOut)
		}
		if _, errOut, code := runOobd(t, tt.word, "frobnicate"); code != exitUsage || !strings.Contains(errOut, `unknown subcommand "frobnicate"`) {
			t.Errorf("oobd %s frobnicate: exit %d, %q", tt.word, code, errOut)
		}
	}
}
