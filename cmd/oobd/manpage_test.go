package main

import (
	"os"
	"strings"
	"testing"
)

// The manual page the packages install lists every command.
func TestManPageListsEveryCommand(t *testing.T) {
	b, err := os.ReadFile("../../packaging/oobd.1")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(string(b), `\-`, "-")
	for _, c := range commands() {
		if !strings.Contains(page, "\n.B "+c.words) && !strings.Contains(page, ", "+c.words) {
			t.Errorf("packaging/oobd.1 lacks the command %q", c.words)
		}
	}
}
