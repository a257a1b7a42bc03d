package promtest

import (
	"bytes"
	"os/exec"
	"testing"
)

// promtool runs promtool with args and stdin, failing t with its output
// unless it exits 0.
func promtool(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	need(t, PromtoolPath)
	cmd := exec.Command(PromtoolPath, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtest: promtool %v: %v:\n%s", args, err, out)
	}
	return string(out)
}

// CheckMetrics fails t unless exposition (a scrape in the text format)
// passes `promtool check metrics`: it parses, and its names and help
// follow Prometheus's conventions.
func CheckMetrics(t testing.TB, exposition []byte) {
	t.Helper()
	promtool(t, exposition, "check", "metrics")
}

// CheckRules fails t unless the rule files pass `promtool check rules`.
func CheckRules(t testing.TB, files ...string) string {
	t.Helper()
	return promtool(t, nil, append([]string{"check", "rules"}, files...)...)
}

// RunRuleTests fails t unless the rule unit tests pass `promtool test rules`.
func RunRuleTests(t testing.TB, files ...string) string {
	t.Helper()
	return promtool(t, nil, append([]string{"test", "rules"}, files...)...)
}
