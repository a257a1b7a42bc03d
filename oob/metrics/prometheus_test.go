package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/promtest"
	"github.com/oobd/oobd/oob/health"
)

// A real Prometheus scrapes /metrics off the health server and gives the
// values back through its query API.
func TestPrometheusScrapesTheHealthServer(t *testing.T) {
	snap := full()
	snap.Health.Drill.Last, snap.Health.Poll.Last = time.Now().Add(-time.Hour), time.Now()
	snap.Health.Started = time.Now().Add(-2 * time.Hour)
	source := func() Snapshot { return snap }
	checker := health.NewChecker(nil)
	m, err := New(Config{Version: "v9.9.9", Source: source, Checker: checker})
	if err != nil {
		t.Fatal(err)
	}
	scraped := make(chan struct{}, 1)
	h := health.Handler(checker, func() health.Input { return source().Health }, m.Handler())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/metrics" {
			select {
			case scraped <- struct{}{}:
			default:
			}
		}
	}))
	defer srv.Close()

	target := strings.TrimPrefix(srv.URL, "http://")
	p := promtest.Start(t, promtest.Options{Targets: []string{target}, ScrapeInterval: time.Second})
	select {
	case <-scraped:
	case <-time.After(20 * time.Second):
		t.Fatalf("Prometheus did not scrape within 20 s:\n%s", p.Log())
	}
	tests := []struct {
		query string
		want  float64
	}{
		{`oobd_signal_dbm{job="oobd"}`, -73},
		{`oobd_drill_step_duration_seconds{step="tunnel"}`, 2.1},
		{`oobd_drill_success`, 1},
		{`oobd_health_check{check="drill"}`, 1},
		{`oobd_build_info{version="v9.9.9"}`, 1},
	}
	for _, tt := range tests {
		got := p.Await(t, tt.query, 15*time.Second)
		if len(got) != 1 || got[0].Value != tt.want || got[0].Labels["instance"] != target {
			t.Errorf("%s: %+v, want one sample %v from %s", tt.query, got, tt.want, target)
		}
	}
	p.Stop()
}
