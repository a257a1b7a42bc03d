package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/liveness"
	"github.com/oobd/oobd/oob/metrics"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
)

// What watches the agent: the session's changes to the state file, the
// metrics and the watchdog; the health checks' input.

// recorder is the session's Recorder: it keeps every change of the
// session in the state file, shows it to the observer, counts it in the
// metrics, and tells the watchdog the session's loop is alive: once the
// session is up, until its end (the hold, a redial, bounded by the end)
// and the teardown after it; before, each step (the way up, bounded at
// session.DefaultBringUpTimeout, and the teardown of a way up that
// failed, TeardownTimeout a step) until stepBound.
type recorder struct {
	store   *state.Store
	observe func(session.Report) // nil: nobody watches
	beat    *liveness.Loop
	metrics *metrics.Metrics // nil: none
	log     *slog.Logger

	// Only the session's goroutines call Session, one session at a time.
	wasUp      bool
	rx, tx     uint64 // bytes counted so far in this session
	reconnects int
}

// stepBound is longer than any one step before the session is up and
// shorter than the watchdog's window (WatchdogSec in the unit), so that
// a hung step stops the pings and a working one never does.
const stepBound = liveness.DefaultWindow - time.Minute

func (r *recorder) Session(rep session.Report) {
	if r.observe != nil {
		r.observe(rep)
	}
	switch {
	case rep.State == session.StateIdle:
		r.beat.Idle()
	case !rep.Until.IsZero():
		r.beat.Busy(rep.Until.Add(stepBound))
	default:
		r.beat.Busy(time.Now().Add(stepBound))
	}
	r.count(rep)
	if err := r.store.RecordSession(rep); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Error("session not recorded", "err", err)
	}
}

// count adds what changed since the last report to the metrics.
func (r *recorder) count(rep session.Report) {
	if rep.BytesRx >= r.rx && rep.BytesTx >= r.tx {
		r.metrics.LinkBytes(rep.BytesRx-r.rx, rep.BytesTx-r.tx)
		r.rx, r.tx = rep.BytesRx, rep.BytesTx
	}
	for ; r.reconnects < rep.Reconnects; r.reconnects++ {
		r.metrics.Reconnect()
	}
	kind := "sms"
	switch {
	case rep.Drill:
		kind = "drill"
	case rep.Local:
		kind = "local"
	}
	if rep.State == session.StateUp && !r.wasUp {
		r.wasUp = true
		r.metrics.Session(kind, "up", 0)
	}
	if rep.State == session.StateIdle && !rep.Ended.IsZero() {
		r.metrics.Session(kind, rep.Outcome(), rep.Ended.Sub(rep.Started))
		r.wasUp, r.rx, r.tx, r.reconnects = false, 0, 0, 0
	}
}

// healthInput is the health checks' input: what the state file knows,
// and what only the running daemon does.
func (a *Agent) healthInput() health.Input {
	now := time.Now()
	in := a.store.Snapshot().HealthInput()
	in.Started = a.started
	_, in.Session = a.sessions.Status()
	_, in.StaleLoops = a.live.Check(now)
	in.Modem = health.ModemFrom(a.modem.Stats())
	in.SIM.Reason = a.modem.Cached().SIMReason
	a.cfg.HealthSettings(&in, now)
	if on, until := a.trigger.Lockout(); on {
		in.LockoutUntil = until
	}
	return in
}

// metricsSnapshot is what a scrape reads.
func (a *Agent) metricsSnapshot() metrics.Snapshot {
	c := a.modem.Stats().Recovery.Counters
	return metrics.Snapshot{Health: a.healthInput(),
		Modem: metrics.ModemCounters{Timeouts: c.Timeouts, Reopens: c.Reopens, Resets: c.Resets, PowerCycles: c.PowerCycles}}
}
