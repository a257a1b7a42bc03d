package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// drillSteps are the steps of a drill, in order.
func drillSteps() []string {
	return []string{"dial", "path", "tunnel", "self-check", "push", "sms_loop"}
}

// drill is the end-to-end drill: its schedule and its last run.
type drill struct {
	period, success, lastRun, duration, step *prometheus.Desc
}

func newDrill() *drill {
	return &drill{
		period: prometheus.NewDesc("oobd_drill_period_seconds",
			"The longest gap between two drills in drill.schedule (absent when drills are off).", nil, nil),
		success: prometheus.NewDesc("oobd_drill_success",
			"1 when the last drill passed, 0 when it failed (absent before the first drill).", nil, nil),
		lastRun: prometheus.NewDesc("oobd_drill_last_run_timestamp_seconds",
			"When the last drill ended, as a Unix timestamp (absent before the first drill).", nil, nil),
		duration: prometheus.NewDesc("oobd_drill_duration_seconds",
			"How long the last drill's steps took in all.", nil, nil),
		step: prometheus.NewDesc("oobd_drill_step_duration_seconds",
			"How long each step of the last drill took (steps it did not reach are absent).", []string{"step"}, nil),
	}
}

func (d *drill) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.period, d.success, d.lastRun, d.duration, d.step} {
		ch <- x
	}
}

func (d *drill) collect(ch chan<- prometheus.Metric, s Snapshot, _ time.Time) {
	in := s.Health.Drill
	if in.Configured && in.Period > 0 {
		emit(ch, d.period, prometheus.GaugeValue, in.Period.Seconds())
	}
	if in.Last.IsZero() {
		return
	}
	emit(ch, d.success, prometheus.GaugeValue, b2f(in.OK))
	timestamp(ch, d.lastRun, in.Last)
	if len(in.Steps) == 0 {
		return
	}
	// Steps outside the set share "other"; a label is sent once, summed.
	var total time.Duration
	byStep := make(map[string]time.Duration)
	for _, st := range in.Steps {
		byStep[oneOf(st.Name, drillSteps(), other)] += st.Duration
		total += st.Duration
	}
	emit(ch, d.duration, prometheus.GaugeValue, total.Seconds())
	for _, name := range withOther(drillSteps()) {
		if v, ok := byStep[name]; ok {
			emit(ch, d.step, prometheus.GaugeValue, v.Seconds(), name)
		}
	}
}
