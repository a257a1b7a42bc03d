package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/oobd/oobd/internal/promtest"
)

// The shipped alert rules: they load, their unit tests pass, each alert
// is tested firing and not firing, and every oobd_ metric they read is
// one this package exports.
func TestAlertRules(t *testing.T) {
	dir := filepath.Join("..", "..", "configs", "prometheus")
	rulesFile := filepath.Join(dir, "oobd-alerts.yml")
	testsFile, windowFile := filepath.Join(dir, "oobd-alerts_test.yml"), filepath.Join(dir, "oobd-alerts_30d_test.yml")
	promtest.CheckRules(t, rulesFile)
	promtest.RunRuleTests(t, testsFile, windowFile)

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, rulesFile, &rules)
	// The main test file alone tests every alert both ways.
	readYAML(t, testsFile, &tests)
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}

	exported := map[string]bool{}
	mfs, err := newMetrics(t, full).Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
	}
	var alerts []string
	name := regexp.MustCompile(`\boobd_[a-z_]+`)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if !firing[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: tested firing %v, not firing %v; want both", r.Alert, firing[r.Alert], quiet[r.Alert])
			}
			for _, n := range name.FindAllString(r.Expr, -1) {
				if !exported[n] {
					t.Errorf("%s reads %s, which is not exported", r.Alert, n)
				}
			}
		}
	}
	for _, want := range []string{"OobdDrillFailed", "OobdDrillOverdue", "OobdModemDown", "OobdSIMNotReady", "OobdNotRegistered",
		"OobdSMSStorageNearlyFull", "OobdDataPlanUsage", "OobdDown", "OobdAbsent"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s in %v", want, alerts)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
