package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oobd/oobd/oob/health"
)

// part is one concern's gauges (one file each), read from the snapshot of
// a scrape.
type part interface {
	describe(ch chan<- *prometheus.Desc)
	collect(ch chan<- prometheus.Metric, s Snapshot, now time.Time)
}

// scrape is the collector that reads the source once per scrape and hands
// the snapshot to every part.
type scrape struct {
	source func() Snapshot
	now    func() time.Time
	parts  []part
}

func newScrape(source func() Snapshot, checker *health.Checker, now func() time.Time) *scrape {
	if now == nil {
		now = time.Now
	}
	return &scrape{
		source: source,
		now:    now,
		parts:  []part{newDaemon(), newModem(), newDrill(), newChecks(checker)},
	}
}

func (c *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, p := range c.parts {
		p.describe(ch)
	}
}

func (c *scrape) Collect(ch chan<- prometheus.Metric) {
	s, now := c.source(), c.now()
	for _, p := range c.parts {
		p.collect(ch, s, now)
	}
}

// emit sends one sample; a bad one (which the fixed label sets rule out)
// fails the scrape's gathering with an error instead of a panic.
func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// enum sends one sample per state of set: 1 for current, 0 for the
// others, so every state is always exported.
func enum(ch chan<- prometheus.Metric, d *prometheus.Desc, set []string, current string) {
	for _, s := range set {
		emit(ch, d, prometheus.GaugeValue, b2f(s == current), s)
	}
}

// timestamp sends t as Unix seconds, nothing when t is zero (never).
func timestamp(ch chan<- prometheus.Metric, d *prometheus.Desc, t time.Time) {
	if !t.IsZero() {
		emit(ch, d, prometheus.GaugeValue, seconds(t))
	}
}
