package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oobd/oobd/oob/health"
)

// checks are the /healthz checks, one gauge each.
type checks struct {
	checker *health.Checker // nil: evaluate afresh
	check   *prometheus.Desc
	healthy *prometheus.Desc
}

func newChecks(checker *health.Checker) *checks {
	return &checks{
		checker: checker,
		check: prometheus.NewDesc("oobd_health_check",
			"1 when the /healthz check passes, 0 when it fails.", []string{"check"}, nil),
		healthy: prometheus.NewDesc("oobd_healthy",
			"1 when every /healthz check passes.", nil, nil),
	}
}

func (c *checks) describe(ch chan<- *prometheus.Desc) {
	ch <- c.check
	ch <- c.healthy
}

func (c *checks) collect(ch chan<- prometheus.Metric, s Snapshot, now time.Time) {
	var rep health.Report
	if c.checker != nil {
		rep = c.checker.Check(s.Health)
	} else {
		rep.OK = true
		rep.Checks = health.Evaluate(s.Health, now)
		for _, x := range rep.Checks {
			rep.OK = rep.OK && x.OK
		}
	}
	for _, x := range rep.Checks {
		emit(ch, c.check, prometheus.GaugeValue, b2f(x.OK), x.Name)
	}
	emit(ch, c.healthy, prometheus.GaugeValue, b2f(rep.OK))
}
