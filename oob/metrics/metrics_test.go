package metrics

import (
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/oobd/oobd/internal/promtest"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/link"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// full is a snapshot with every part filled in, every check passing at
// t0.
func full() Snapshot {
	return Snapshot{
		Health: health.Input{
			Started: t0.Add(-72 * time.Hour),
			Modem:   health.Modem{Answering: true, Since: t0.Add(-72 * time.Hour)},
			SIM:     health.SIM{State: "ready", PINAttempts: 3},
			Network: health.Network{Registration: "home", Operator: "Example Tel", SignalDBm: -73, SignalKnown: true},
			Poll:    health.Poll{Last: t0.Add(-20 * time.Second), LongestGap: time.Minute},
			Storage: health.Storage{Used: 2, Total: 30},
			Console: health.Console{Configured: true, Open: true},
			Drill: health.Drill{Configured: true, Period: 24 * time.Hour, Last: t0.Add(-5 * time.Hour), OK: true,
				Steps: []health.DrillStep{
					{Name: "dial", Duration: 12 * time.Second}, {Name: "path", Duration: 500 * time.Millisecond},
					{Name: "tunnel", Duration: 2100 * time.Millisecond}, {Name: "self-check", Duration: time.Second},
					{Name: "push", Duration: 1500 * time.Millisecond},
				}},
		},
		Modem: ModemCounters{Timeouts: 4, Reopens: 2, Resets: 1},
	}
}

// newMetrics is Metrics on source with a Checker, both reading the time
// from t0.
func newMetrics(t *testing.T, source func() Snapshot) *Metrics {
	t.Helper()
	at := func() time.Time { return t0 }
	m, err := New(Config{Version: "v1.2.3", Source: source, Checker: health.NewChecker(at), Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// series gathers m and returns every sample as `name{k="v",...}` → value
// (histograms as _count and _sum).
func series(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, mt := range mf.Metric {
			key := mf.GetName() + labels(mt.Label)
			switch {
			case mt.Gauge != nil:
				out[key] = mt.Gauge.GetValue()
			case mt.Counter != nil:
				out[key] = mt.Counter.GetValue()
			case mt.Histogram != nil:
				out[mf.GetName()+"_count"+labels(mt.Label)] = float64(mt.Histogram.GetSampleCount())
				out[mf.GetName()+"_sum"+labels(mt.Label)] = mt.Histogram.GetSampleSum()
			default:
				out[key] = mt.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func labels(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// withPrefix is the keys of s that start with prefix.
func withPrefix(s map[string]float64, prefix string) []string {
	var out []string
	for k := range maps.Keys(s) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestGauges(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Snapshot)
		want   map[string]float64
		absent []string // series (or name prefixes ending in "{") that must not be there
	}{
		{"healthy", func(*Snapshot) {}, map[string]float64{
			"oobd_modem_up":                                       1,
			"oobd_signal_dbm":                                     -73,
			`oobd_modem_registration{state="home"}`:               1,
			`oobd_modem_registration{state="roaming"}`:            0,
			`oobd_sim_state{state="ready"}`:                       1,
			`oobd_sim_state{state="pin-required"}`:                0,
			"oobd_sim_pin_attempts_remaining":                     3,
			"oobd_sms_storage_used_messages":                      2,
			"oobd_sms_storage_capacity_messages":                  30,
			`oobd_modem_recoveries_total{step="reopen"}`:          2,
			`oobd_modem_recoveries_total{step="reset"}`:           1,
			`oobd_modem_recoveries_total{step="power-cycle"}`:     0,
			"oobd_modem_command_timeouts_total":                   4,
			"oobd_start_time_seconds":                             float64(t0.Add(-72 * time.Hour).Unix()),
			"oobd_session_active":                                 0,
			"oobd_last_poll_timestamp_seconds":                    float64(t0.Add(-20 * time.Second).Unix()),
			"oobd_poll_longest_gap_seconds":                       60,
			"oobd_lockout_active":                                 0,
			"oobd_crash_leftovers":                                0,
			"oobd_console_open":                                   1,
			"oobd_drill_period_seconds":                           86400,
			"oobd_drill_success":                                  1,
			"oobd_drill_last_run_timestamp_seconds":               float64(t0.Add(-5 * time.Hour).Unix()),
			"oobd_drill_duration_seconds":                         17.1,
			`oobd_drill_step_duration_seconds{step="dial"}`:       12,
			`oobd_drill_step_duration_seconds{step="tunnel"}`:     2.1,
			`oobd_drill_step_duration_seconds{step="self-check"}`: 1,
			`oobd_health_check{check="drill"}`:                    1,
			`oobd_health_check{check="crash_leftovers"}`:          1,
			"oobd_healthy":                                        1,
			`oobd_build_info{goarch="` + runtime.GOARCH + `",goos="` + runtime.GOOS + `",goversion="` + runtime.Version() + `",version="v1.2.3"}`: 1,
		}, []string{`oobd_drill_step_duration_seconds{step="sms_loop"}`, `oobd_drill_step_duration_seconds{step="other"}`}},

		{"signal unknown", func(s *Snapshot) { s.Health.Network.SignalKnown = false }, nil, []string{"oobd_signal_dbm"}},
		{"a registration outside the set", func(s *Snapshot) { s.Health.Network.Registration = "registered, emergency only" },
			map[string]float64{`oobd_modem_registration{state="unknown"}`: 1, `oobd_modem_registration{state="home"}`: 0,
				`oobd_health_check{check="registration"}`: 0, "oobd_healthy": 0},
			[]string{`oobd_modem_registration{state="registered, emergency only"}`}},
		{"SIM wants its PIN, tries unknown", func(s *Snapshot) { s.Health.SIM = health.SIM{State: "pin-required", PINAttempts: -1} },
			map[string]float64{`oobd_sim_state{state="pin-required"}`: 1, `oobd_sim_state{state="ready"}`: 0,
				`oobd_health_check{check="sim"}`: 0, `oobd_health_check{check="modem"}`: 1},
			[]string{"oobd_sim_pin_attempts_remaining"}},
		{"modem not answering", func(s *Snapshot) { s.Health.Modem = health.Modem{Since: t0.Add(-time.Minute), RecoveryStep: "reset"} },
			map[string]float64{"oobd_modem_up": 0, `oobd_health_check{check="modem"}`: 0}, nil},
		{"a session lends the port", func(s *Snapshot) { s.Health.Session, s.Health.Modem = true, health.Modem{} },
			map[string]float64{"oobd_modem_up": 0, "oobd_session_active": 1, `oobd_health_check{check="modem"}`: 1, "oobd_healthy": 1}, nil},
		{"storage not read", func(s *Snapshot) { s.Health.Storage = health.Storage{} }, nil,
			[]string{"oobd_sms_storage_used_messages", "oobd_sms_storage_capacity_messages"}},
		{"storage full", func(s *Snapshot) { s.Health.Storage = health.Storage{Used: 30, Total: 30} },
			map[string]float64{"oobd_sms_storage_used_messages": 30, `oobd_health_check{check="storage"}`: 0}, nil},
		{"locked out", func(s *Snapshot) { s.Health.LockoutUntil = t0.Add(time.Minute) },
			map[string]float64{"oobd_lockout_active": 1, `oobd_health_check{check="lockout"}`: 0}, nil},
		{"a lockout that ended", func(s *Snapshot) { s.Health.LockoutUntil = t0.Add(-time.Minute) },
			map[string]float64{"oobd_lockout_active": 0}, nil},
		{"crash leftovers", func(s *Snapshot) { s.Health.Cleanup = &link.CleanupFailure{FailedAt: t0, Error: "x"} },
			map[string]float64{"oobd_crash_leftovers": 1, `oobd_health_check{check="crash_leftovers"}`: 0}, nil},
		{"no console", func(s *Snapshot) { s.Health.Console = health.Console{} },
			map[string]float64{`oobd_health_check{check="console"}`: 1}, []string{"oobd_console_open"}},
		{"console unplugged", func(s *Snapshot) { s.Health.Console.Open = false },
			map[string]float64{"oobd_console_open": 0, `oobd_health_check{check="console"}`: 0}, nil},
		{"no drills", func(s *Snapshot) { s.Health.Drill = health.Drill{} },
			map[string]float64{`oobd_health_check{check="drill"}`: 1},
			[]string{"oobd_drill_period_seconds", "oobd_drill_success", "oobd_drill_last_run_timestamp_seconds", "oobd_drill_duration_seconds", "oobd_drill_step_duration_seconds{"}},
		{"no drill yet", func(s *Snapshot) { s.Health.Drill = health.Drill{Configured: true, Period: time.Hour} },
			map[string]float64{"oobd_drill_period_seconds": 3600, `oobd_health_check{check="drill"}`: 0},
			[]string{"oobd_drill_success", "oobd_drill_last_run_timestamp_seconds", "oobd_drill_step_duration_seconds{"}},
		{"a failed drill, steps outside the set", func(s *Snapshot) {
			s.Health.Drill = health.Drill{Configured: true, Period: 24 * time.Hour, Last: t0.Add(-time.Minute), FailedStep: "tunnel",
				Steps: []health.DrillStep{{Name: "dial", Duration: 3 * time.Second}, {Name: "warm-up", Duration: time.Second},
					{Name: "route", Duration: 2 * time.Second}, {Name: "tunnel", Duration: 4 * time.Second}}}
		}, map[string]float64{
			"oobd_drill_success": 0, `oobd_health_check{check="drill"}`: 0, "oobd_healthy": 0, "oobd_drill_duration_seconds": 10,
			`oobd_drill_step_duration_seconds{step="other"}`: 3, `oobd_drill_step_duration_seconds{step="tunnel"}`: 4,
		}, []string{`oobd_drill_step_duration_seconds{step="push"}`, `oobd_drill_step_duration_seconds{step="warm-up"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := full()
			tt.change(&snap)
			m := newMetrics(t, func() Snapshot { return snap })
			got := series(t, m)
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, a := range tt.absent {
				if strings.HasSuffix(a, "{") && len(withPrefix(got, a)) > 0 || !strings.HasSuffix(a, "{") && hasKey(got, a) {
					t.Errorf("%s is exported, want it absent", a)
				}
			}
			// Enums: every state, exactly one of them 1.
			for prefix, n := range map[string]int{"oobd_modem_registration{": 6, "oobd_sim_state{": 6, "oobd_health_check{": 10} {
				keys := withPrefix(got, prefix)
				ones := 0
				for _, k := range keys {
					if got[k] == 1 {
						ones++
					}
				}
				if len(keys) != n || prefix != "oobd_health_check{" && ones != 1 {
					t.Errorf("%s: %d series, %d of them 1: %v", prefix, len(keys), ones, keys)
				}
			}
		})
	}
}

func hasKey(m map[string]float64, k string) bool {
	_, ok := m[k]
	return ok
}

func TestEvents(t *testing.T) {
	m := newMetrics(t, nil)
	m.Poll("ok")
	m.Poll("ok")
	m.Poll("modem on fire")
	m.Text("accepted")
	m.Text("unsafe-secret-file")
	m.Text("a verdict from the future")
	m.Session("sms", "up", 0)
	m.Session("sms", "expired", 90*time.Minute)
	m.Session("drill", "failed", 0)
	m.Session("drill", "completed", 40*time.Second)
	m.Session("console", "melted", time.Minute)
	m.Dial("ok")
	m.Dial("timeout")
	m.Dial("no-carrier")
	m.Reconnect()
	m.Reconnect()
	m.LinkBytes(1000, 200)
	m.LinkBytes(24, 56)
	got := series(t, m)
	want := map[string]float64{
		`oobd_polls_total{result="ok"}`:                         2,
		`oobd_polls_total{result="other"}`:                      1,
		`oobd_polls_total{result="error"}`:                      0,
		`oobd_texts_total{verdict="accepted"}`:                  1,
		`oobd_texts_total{verdict="unsafe-secret-file"}`:        1,
		`oobd_texts_total{verdict="other"}`:                     1,
		`oobd_texts_total{verdict="replay"}`:                    0,
		`oobd_sessions_total{kind="sms",outcome="up"}`:          1,
		`oobd_sessions_total{kind="sms",outcome="expired"}`:     1,
		`oobd_sessions_total{kind="drill",outcome="failed"}`:    1,
		`oobd_sessions_total{kind="drill",outcome="completed"}`: 1,
		`oobd_sessions_total{kind="other",outcome="other"}`:     1,
		`oobd_sessions_total{kind="local",outcome="up"}`:        0,
		`oobd_session_duration_seconds_count{kind="sms"}`:       1,
		`oobd_session_duration_seconds_sum{kind="sms"}`:         5400,
		`oobd_session_duration_seconds_count{kind="drill"}`:     1,
		`oobd_session_duration_seconds_count{kind="local"}`:     0,
		`oobd_session_duration_seconds_count{kind="other"}`:     1,
		`oobd_dial_attempts_total{result="ok"}`:                 1,
		`oobd_dial_attempts_total{result="timeout"}`:            1,
		`oobd_dial_attempts_total{result="other"}`:              1,
		"oobd_tunnel_reconnects_total":                          2,
		`oobd_link_bytes_total{direction="rx"}`:                 1024,
		`oobd_link_bytes_total{direction="tx"}`:                 256,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// Without a source there are no gauges, and nothing fails.
	if keys := withPrefix(got, "oobd_modem_up"); len(keys) != 0 {
		t.Errorf("gauges without a source: %v", keys)
	}
}

// Whatever is passed in, the number of series stays put.
func TestUnknownLabelValuesDoNotGrowSeries(t *testing.T) {
	m := newMetrics(t, nil)
	before := len(series(t, m))
	for i := range 500 {
		v := fmt.Sprintf("value-%d", i)
		m.Poll(v)
		m.Text(v)
		m.Session(v, v, time.Second)
		m.Dial(v)
	}
	// Only the histogram of kind "other" appears (its _count and _sum here).
	if after := len(series(t, m)); after != before+2 {
		t.Errorf("%d series before, %d after 500 unknown values of each label", before, after)
	}
}

// No phone number, secret or free text reaches the exposition.
func TestNoFreeTextInTheExposition(t *testing.T) {
	const phone, secret = "+447700900123", "hunter2"
	snap := full()
	in := &snap.Health
	in.StaleLoops = []string{phone}
	in.Modem.RecoveryStep = secret
	in.SIM = health.SIM{State: secret, PINAttempts: 1, Reason: phone}
	in.Network.Registration, in.Network.Operator = phone, secret
	in.Cleanup = &link.CleanupFailure{FailedAt: t0, Error: phone, Left: []string{secret}}
	in.Drill.OK, in.Drill.FailedStep, in.Drill.Reason = false, phone, secret
	in.Drill.Steps = append(in.Drill.Steps, health.DrillStep{Name: phone, Duration: time.Second})
	m, err := New(Config{Version: "v1", Source: func() Snapshot { return snap }})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{phone, secret} {
		m.Poll(v)
		m.Text(v)
		m.Session(v, v, time.Second)
		m.Dial(v)
	}
	body := get(t, m)
	for _, v := range []string{"447700900123", secret} {
		if strings.Contains(body, v) {
			t.Errorf("the exposition holds %q", v)
		}
	}
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.Poll("ok")
	m.Text("accepted")
	m.Session("sms", "up", time.Second)
	m.Dial("ok")
	m.Reconnect()
	m.LinkBytes(1, 2)
}

func TestRuntimeCollectors(t *testing.T) {
	got := series(t, newMetrics(t, nil))
	if !hasKey(got, "go_goroutines") {
		t.Error("no go_goroutines: the Go collector is missing")
	}
	// The process collector reads /proc: Linux only.
	if runtime.GOOS == "linux" && !hasKey(got, "process_start_time_seconds") {
		t.Error("no process_start_time_seconds: the process collector is missing")
	}
}

// The registry is the package's own: two live side by side.
func TestOwnRegistry(t *testing.T) {
	a, b := newMetrics(t, full), newMetrics(t, full)
	a.Poll("ok")
	if got := series(t, b)[`oobd_polls_total{result="ok"}`]; got != 0 {
		t.Errorf("a poll counted on one Metrics shows on another: %v", got)
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	m := newMetrics(t, full)
	m.Session("sms", "up", 0)
	m.Session("sms", "stopped", time.Hour)
	m.LinkBytes(1, 2)
	promtest.CheckMetrics(t, []byte(get(t, m)))
}

// get is what GET /metrics answers.
func get(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	return string(body)
}
