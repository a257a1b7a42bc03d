// Package readmecheck checks that every command the README gives is run
// somewhere: by a named test, by CI, or, where neither can, says why
// (commands.tsv beside this file).
package readmecheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

// readmeCommands are the commands of README.md's ```sh blocks, in order:
// comment lines and trailing "  # comments" dropped, a leading sudo too.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out    []string
		indent string
		inSh   bool
	)
	comment := regexp.MustCompile(`\s{2,}#.*$`)
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case !inSh && trimmed == "```sh":
			inSh, indent = true, line[:len(line)-len(trimmed)]
			continue
		case inSh && trimmed == "```":
			inSh = false
			continue
		case !inSh:
			continue
		}
		cmd := strings.TrimSpace(comment.ReplaceAllString(strings.TrimPrefix(line, indent), ""))
		if cmd == "" || strings.HasPrefix(cmd, "#") {
			continue
		}
		out = append(out, strings.TrimPrefix(cmd, "sudo "))
	}
	if inSh {
		t.Fatal("README.md: a ```sh block is not closed")
	}
	return out
}

type entry struct{ how, where string }

func readTable(t *testing.T) map[string]entry {
	t.Helper()
	f, err := os.Open("commands.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := map[string]entry{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "" || f[2] == "" {
			t.Fatalf("commands.tsv:%d: want command, how and where, tab-separated: %q", n, line)
		}
		if _, dup := table[f[0]]; dup {
			t.Errorf("commands.tsv:%d: %q twice", n, f[0])
		}
		table[f[0]] = entry{f[1], f[2]}
	}
	return table
}

// TestEveryREADMECommandIsRun: each command is in commands.tsv, and what
// the table names exists: the test function, the CI step, a reason.
func TestEveryREADMECommandIsRun(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found in README.md's sh blocks", len(cmds))
	}
	table := readTable(t)
	ci := readFile(t, ".ci/run")
	used := map[string]bool{}
	for _, c := range cmds {
		e, ok := table[c]
		if !ok {
			t.Errorf("README.md: %q is in no row of commands.tsv: name the test or CI step that runs it", c)
			continue
		}
		used[c] = true
		switch e.how {
		case "test":
			dir, name, ok := strings.Cut(e.where, " ")
			if !ok || !testExists(t, dir, name) {
				t.Errorf("%q: no func %s in %s/*_test.go", c, name, dir)
			}
		case "ci":
			file, text, _ := strings.Cut(e.where, "|")
			if text == "" {
				text = c
			}
			if file != ".ci/run" && !strings.Contains(ci, file) {
				t.Errorf("%q: %s is not run by .ci/run", c, file)
			}
			if !strings.Contains(readFile(t, file), text) {
				t.Errorf("%q: %s does not run %q", c, file, text)
			}
		case "manual":
			if len(e.where) < 10 {
				t.Errorf("%q: manual, but the reason %q says too little", c, e.where)
			}
		default:
			t.Errorf("%q: how %q is none of test, ci, manual", c, e.how)
		}
	}
	for c := range table {
		if !used[c] {
			t.Errorf("commands.tsv: %q is no longer in README.md", c)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testExists(t *testing.T, dir, name string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		return false
	}
	want := "func " + name + "("
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), want) {
			return true
		}
	}
	return false
}
