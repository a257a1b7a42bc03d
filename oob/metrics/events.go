package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The label sets of the event counters. Each is exported in full from the
// start; anything else passed in counts as "other".
func pollResults() []string { return []string{"ok", "error", "skipped"} }

func verdicts() []string {
	return []string{
		"accepted", "bad-secret", "bad-code", "replay", "stale", "superseded",
		"unknown-sender", "locked-out", "bad-request", "malformed", "binary",
		"incomplete", "evicted", "unsafe-secret-file", "drill-loop",
	}
}

func sessionKinds() []string { return []string{"sms", "local", "drill"} }

func sessionOutcomes() []string {
	return []string{"up", "failed", "completed", "expired", "stopped", "dropped", "yielded"}
}

func dialResults() []string { return []string{"ok", "failed", "timeout"} }

func directions() []string { return []string{"rx", "tx"} }

// sessionBuckets span a drill (a minute or so) to a long day at the
// console.
func sessionBuckets() []float64 {
	return []float64{30, 60, 120, 300, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600}
}

func (m *Metrics) newEvents() {
	m.polls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oobd_polls_total",
		Help: "Inbox polls by result: ok (read), error (the modem failed), skipped (the modem was busy, recovering or lent to the dialer).",
	}, []string{"result"})
	m.texts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oobd_texts_total",
		Help: "Texts read from the SIM, by the trigger's verdict.",
	}, []string{"verdict"})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oobd_sessions_total",
		Help: "Sessions by kind (sms, local, drill) and outcome: up when one comes up, then how it ended (completed, expired, stopped, dropped, yielded); failed when one never came up.",
	}, []string{"kind", "outcome"})
	m.sessionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "oobd_session_duration_seconds",
		Help:    "How long sessions were up, from the self-check to the end of the tear-down, by kind.",
		Buckets: sessionBuckets(),
	}, []string{"kind"})
	m.dials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oobd_dial_attempts_total",
		Help: "Attempts to bring the PPP link up, by result.",
	}, []string{"result"})
	m.reconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "oobd_tunnel_reconnects_total",
		Help: "Times the SSH tunnel was re-established within a session.",
	})
	m.linkBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oobd_link_bytes_total",
		Help: "Bytes through the cellular link, by direction (rx, tx), across sessions: the data plan's use.",
	}, []string{"direction"})

	for _, r := range withOther(pollResults()) {
		m.polls.WithLabelValues(r)
	}
	for _, v := range withOther(verdicts()) {
		m.texts.WithLabelValues(v)
	}
	for _, k := range withOther(sessionKinds()) {
		for _, o := range withOther(sessionOutcomes()) {
			m.sessions.WithLabelValues(k, o)
		}
	}
	for _, k := range sessionKinds() { // 14 series each: "other" only if it happens
		m.sessionDuration.WithLabelValues(k)
	}
	for _, r := range withOther(dialResults()) {
		m.dials.WithLabelValues(r)
	}
	for _, d := range directions() {
		m.linkBytes.WithLabelValues(d)
	}
}

// Poll counts an inbox poll: result is "ok", "error" or "skipped".
func (m *Metrics) Poll(result string) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(oneOf(result, pollResults(), other)).Inc()
}

// Text counts a text read from the SIM by its verdict (trigger.Verdict's
// values, and "evicted", "unsafe-secret-file").
func (m *Metrics) Text(verdict string) {
	if m == nil {
		return
	}
	m.texts.WithLabelValues(oneOf(verdict, verdicts(), other)).Inc()
}

// Session counts a session of kind ("sms", "local", "drill") reaching
// outcome: "up" when its self-check passes, then once more with how it
// ended ("completed": a drill that ran all its steps, "expired": its time
// ran out, "stopped": asked down, "dropped": the link was lost for good,
// "yielded": a drill ended by a trigger), or "failed" once when it never
// came up. up is how long it was up, observed for an ending (0: none).
func (m *Metrics) Session(kind, outcome string, up time.Duration) {
	if m == nil {
		return
	}
	kind = oneOf(kind, sessionKinds(), other)
	outcome = oneOf(outcome, sessionOutcomes(), other)
	m.sessions.WithLabelValues(kind, outcome).Inc()
	if up > 0 && outcome != "up" {
		m.sessionDuration.WithLabelValues(kind).Observe(up.Seconds())
	}
}

// Dial counts an attempt to bring the link up: result is "ok", "failed"
// or "timeout".
func (m *Metrics) Dial(result string) {
	if m == nil {
		return
	}
	m.dials.WithLabelValues(oneOf(result, dialResults(), other)).Inc()
}

// Reconnect counts a re-established tunnel.
func (m *Metrics) Reconnect() {
	if m == nil {
		return
	}
	m.reconnects.Inc()
}

// LinkBytes adds bytes received and sent over the link since the last
// call (deltas, not totals).
func (m *Metrics) LinkBytes(rx, tx uint64) {
	if m == nil {
		return
	}
	m.linkBytes.WithLabelValues("rx").Add(float64(rx))
	m.linkBytes.WithLabelValues("tx").Add(float64(tx))
}
