// Package metrics exports oobd's health and history to Prometheus through
// client_golang, on a registry of its own (never the default one).
//
// Two kinds of metric come from two places:
//   - what happened (polls, texts, sessions, dials, reconnects, link
//     bytes) is counted by event methods the agent calls as things happen
//     (Poll, Text, Session, Dial, Reconnect, LinkBytes);
//   - what is (the modem, the SIM, the network, the last drill, each
//     health check, and the modem's recovery counters it keeps across
//     restarts) is read from a Source at every scrape.
//
// Labels take values from fixed sets only: an unknown value passed in is
// exported as "other" (or "unknown" for a state), so a bug or a new
// verdict cannot grow the number of series. No label ever holds a phone
// number, a secret or free text.
//
// The process collector reads /proc: on FreeBSD it reports nothing, so
// the process_* metrics are absent there; the Go runtime's go_* metrics
// and everything oobd_* are exported on every platform.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oobd/oobd/oob/health"
)

// scrapeTimeout bounds one scrape; it stays under the health server's
// write timeout so a slow source still gets an answer out.
const scrapeTimeout = 8 * time.Second

// Snapshot is what the gauges need at a scrape: the health input (the
// same the /healthz checks read) and the modem's persisted counters.
type Snapshot struct {
	Health health.Input
	Modem  ModemCounters
}

// ModemCounters are the modem's counters as it keeps them across re-opens
// and restarts (modem.Counters); they are exported as counters as they
// are read.
type ModemCounters struct {
	Timeouts    int // commands that got no answer in time
	Reopens     int // the ladder's first rung: the port re-opened
	Resets      int // AT+CFUN=1,1
	PowerCycles int // recovery_command runs
}

// Config configures Metrics.
type Config struct {
	// Version is oobd's version, for oobd_build_info ("" reads as
	// "unknown").
	Version string
	// Source is read once at every scrape; nil exports no oobd_* gauges.
	Source func() Snapshot
	// Checker, when set, runs the health checks for oobd_health_check, so
	// that /healthz and the metrics see the same transitions; nil
	// evaluates them afresh at each scrape.
	Checker *health.Checker
	// Log receives errors of gathering and serving; nil discards them.
	Log *slog.Logger
	// Now is the clock of the scrape (nil: time.Now).
	Now func() time.Time
}

// Metrics holds oobd's registry and its counters. Its event methods are
// safe for concurrent use, and on a nil *Metrics they count nothing, so
// parts built without metrics need not check.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	polls           *prometheus.CounterVec
	texts           *prometheus.CounterVec
	sessions        *prometheus.CounterVec
	sessionDuration *prometheus.HistogramVec
	dials           *prometheus.CounterVec
	reconnects      prometheus.Counter
	linkBytes       *prometheus.CounterVec
}

// New builds the registry: the process and Go collectors, oobd_build_info,
// the event counters (every label value exported from the start, at 0)
// and the gauges read from cfg.Source.
func New(cfg Config) (*Metrics, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.newEvents()
	version := cfg.Version
	if version == "" {
		version = "unknown"
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "oobd_build_info",
		Help: "Always 1; the labels say which oobd this is and how it was built.",
		ConstLabels: prometheus.Labels{
			"version": version, "goversion": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		},
	})
	buildInfo.Set(1)
	cs := []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		buildInfo,
		m.polls, m.texts, m.sessions, m.sessionDuration, m.dials, m.reconnects, m.linkBytes,
	}
	if cfg.Source != nil {
		cs = append(cs, newScrape(cfg.Source, cfg.Checker, cfg.Now))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             scrapeTimeout,
	})
	return m, nil
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Gatherer is the registry, for tests and for serving it elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// oneOf is v when set holds it, else fallback: a label value from a fixed
// set.
func oneOf(v string, set []string, fallback string) string {
	if slices.Contains(set, v) {
		return v
	}
	return fallback
}

// other is the label value of anything not in a label's set.
const other = "other"

// withOther is set followed by "other".
func withOther(set []string) []string { return append(slices.Clip(set), other) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// seconds is t as a Unix timestamp in seconds.
func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
