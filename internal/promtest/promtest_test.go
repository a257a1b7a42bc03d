package promtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that records a fatal failure instead of
// ending the test that uses it.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// fatal runs f with a recorder and returns what it failed with ("" if
// nothing).
func fatal(t *testing.T, f func(testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func TestCheckMetrics(t *testing.T) {
	tests := []struct {
		name, exposition, failure string
	}{
		{"clean", "# HELP oobd_up_total Ups.\n# TYPE oobd_up_total counter\noobd_up_total 1\n", ""},
		{"a counter without _total", "# HELP foo A thing.\n# TYPE foo counter\nfoo 1\n", `should have "_total" suffix`},
		{"not the text format", "garbage{\n", "parsing error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fatal(t, func(tb testing.TB) { CheckMetrics(tb, []byte(tt.exposition)) })
			if tt.failure == "" && got != "" || !strings.Contains(got, tt.failure) {
				t.Errorf("failure %q, want one with %q", got, tt.failure)
			}
		})
	}
}

func TestRuleChecks(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	write(t, rules, `groups:
  - name: t
    rules:
      - alert: Down
        expr: up == 0
        for: 1m
`)
	tests := filepath.Join(dir, "rules_test.yml")
	write(t, tests, `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="oobd"}'
        values: '0x5'
    alert_rule_test:
      - eval_time: 3m
        alertname: Down
        exp_alerts:
          - exp_labels: {job: oobd}
`)
	if out := CheckRules(t, rules); !strings.Contains(out, "SUCCESS") {
		t.Errorf("check rules: %s", out)
	}
	RunRuleTests(t, tests)

	write(t, filepath.Join(dir, "bad.yml"), "groups:\n  - name: t\n    rules:\n      - alert: X\n        expr: up ==\n")
	if got := fatal(t, func(tb testing.TB) { CheckRules(tb, filepath.Join(dir, "bad.yml")) }); !strings.Contains(got, "promtool") {
		t.Errorf("a broken rule file passed: %q", got)
	}
	write(t, tests, strings.Replace(readFile(t, tests), "eval_time: 3m", "eval_time: 30s", 1))
	if got := fatal(t, func(tb testing.TB) { RunRuleTests(tb, tests) }); !strings.Contains(got, "FAILED") {
		t.Errorf("a failing rule test passed: %q", got)
	}
}

func TestServerScrapesAndAnswers(t *testing.T) {
	scraped := make(chan struct{}, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "# HELP promtest_answer The answer.\n# TYPE promtest_answer gauge\npromtest_answer 42\n")
		select {
		case scraped <- struct{}{}:
		default:
		}
	}))
	defer target.Close()

	start := time.Now()
	s := Start(t, Options{Targets: []string{strings.TrimPrefix(target.URL, "http://")}})
	t.Logf("ready after %v", time.Since(start).Round(time.Millisecond))
	// Prometheus 2.42's discovery hands targets to the scrapers after 5 s.
	select {
	case <-scraped: // stored a moment after it is served: Await
	case <-time.After(15 * time.Second):
		t.Fatalf("no scrape within 15 s; prometheus said:\n%s", s.Log())
	}
	t.Logf("scraped after %v", time.Since(start).Round(time.Millisecond))
	got := s.Await(t, `promtest_answer{job="oobd"}`, 15*time.Second)
	t.Logf("answered after %v", time.Since(start).Round(time.Millisecond))
	if len(got) != 1 || got[0].Value != 42 || got[0].Labels["instance"] != strings.TrimPrefix(target.URL, "http://") {
		t.Errorf("query: %+v", got)
	}
	if _, err := s.Query(context.Background(), "sum("); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("a bad query: %v, want Prometheus's parse error", err)
	}
	s.Stop()
	if _, err := s.Query(context.Background(), "up"); err == nil {
		t.Error("Prometheus still answers after Stop")
	}
	t.Logf("start to stop: %v", time.Since(start).Round(time.Millisecond))
}

func TestStartFailsLoudly(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	write(t, bad, "groups: [{name: t, rules: [{alert: X, expr: 'up =='}]}]\n")
	got := fatal(t, func(tb testing.TB) { Start(tb, Options{RuleFiles: []string{bad}}) })
	if !strings.Contains(got, "exited before it was ready") || !strings.Contains(got, "parse error") {
		t.Errorf("failure %q, want the exit and Prometheus's own words", got)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
