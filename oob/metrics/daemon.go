package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// daemon is the daemon's own state: when it started, the session, the
// inbox, the lockout, a crash's leftovers and the console.
type daemon struct {
	started, session, lastPoll, pollGap, lockout, leftovers, console *prometheus.Desc
}

func newDaemon() *daemon {
	return &daemon{
		// process_start_time_seconds is absent on FreeBSD; this is not.
		started: prometheus.NewDesc("oobd_start_time_seconds",
			"When the daemon started, as a Unix timestamp.", nil, nil),
		session: prometheus.NewDesc("oobd_session_active",
			"1 while a session is being set up, is up, or is being torn down.", nil, nil),
		lastPoll: prometheus.NewDesc("oobd_last_poll_timestamp_seconds",
			"When the inbox was last read, as a Unix timestamp (absent: not since start-up).", nil, nil),
		pollGap: prometheus.NewDesc("oobd_poll_longest_gap_seconds",
			"The longest gap between two polls in trigger.schedule over the next 24 hours.", nil, nil),
		lockout: prometheus.NewDesc("oobd_lockout_active",
			"1 while the trigger lockout is in force.", nil, nil),
		leftovers: prometheus.NewDesc("oobd_crash_leftovers",
			"1 while a clean-up after a crash has failed and something is left behind.", nil, nil),
		console: prometheus.NewDesc("oobd_console_open",
			"1 while the console device is open (absent when no console is configured).", nil, nil),
	}
}

func (d *daemon) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.started, d.session, d.lastPoll, d.pollGap, d.lockout, d.leftovers, d.console} {
		ch <- x
	}
}

func (d *daemon) collect(ch chan<- prometheus.Metric, s Snapshot, now time.Time) {
	in := s.Health
	timestamp(ch, d.started, in.Started)
	emit(ch, d.session, prometheus.GaugeValue, b2f(in.Session))
	timestamp(ch, d.lastPoll, in.Poll.Last)
	if in.Poll.LongestGap > 0 {
		emit(ch, d.pollGap, prometheus.GaugeValue, in.Poll.LongestGap.Seconds())
	}
	emit(ch, d.lockout, prometheus.GaugeValue, b2f(now.Before(in.LockoutUntil)))
	emit(ch, d.leftovers, prometheus.GaugeValue, b2f(in.Cleanup != nil))
	if in.Console.Configured {
		emit(ch, d.console, prometheus.GaugeValue, b2f(in.Console.Open))
	}
}
