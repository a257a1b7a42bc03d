// Package drill proves, without a text, that the backup path works: the
// real session lifecycle (dial, path proof, tunnel, self-check through
// every forward) with a quiet push through the link, and optionally a text
// to the SIM's own number that must come back (the inbox proven end to
// end). It records each drill's steps, tells the owner when a drill fails
// and when the first one after a failure passes, and yields to a real
// request: a trigger during a drill ends the drill and gets its session.
package drill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
)

// The kinds of drill, as recorded.
const (
	Scheduled = "scheduled"
	Manual    = "manual"
)

// Sessions is what a drill needs of the session controller;
// *session.Controller satisfies it.
type Sessions interface {
	Drill(probes ...session.Probe) <-chan session.Outcome
	Status() (session.Report, bool)
	Wait(ctx context.Context) error
}

// Runner runs drills.
type Runner struct {
	Sessions Sessions
	Store    *state.Store
	Push     notify.Pusher // nil: pushes not configured
	SMS      notify.Texter
	Extra    []string // notify.sms: who hears of a failed drill by SMS
	Loop     *Loop    // nil: drill.sms_loop is off
	Log      *slog.Logger
	Now      func() time.Time
}

// Run runs one drill of kind and returns its outcome once it is recorded
// (the drill's own teardown done). The outcome's Step is "start" for a
// drill skipped because a session runs.
func (r *Runner) Run(ctx context.Context, kind string) session.Outcome {
	start := r.Now()
	if _, active := r.Sessions.Status(); active {
		o := session.Outcome{Err: errors.New("a session is running; drill skipped"), Step: "start"}
		r.event(start, kind+" drill skipped: a session is running")
		return o
	}
	var steps []session.StepTime
	if r.Loop != nil {
		// Before the dial: a single-port modem reads no text while the
		// dialer has it.
		st, err := r.Loop.Run(ctx, r.SMS)
		steps = append(steps, st)
		if err != nil {
			o := session.Outcome{Err: err, Step: StepSMSLoop}
			r.record(ctx, kind, start, o, steps)
			return o
		}
	}
	var probes []session.Probe
	if r.Push != nil {
		probes = append(probes, session.Probe{Name: StepPush, Check: func(ctx context.Context, via session.DialFunc) error {
			return r.Push.Send(ctx, notify.DrillPushMessage(r.Now()), notify.DialFunc(via))
		}})
	}
	var o session.Outcome
	select {
	case o = <-r.Sessions.Drill(probes...):
	case <-ctx.Done():
		return session.Outcome{Err: ctx.Err(), Step: "cancelled"}
	}
	if o.Step == "start" { // a session started meanwhile
		r.event(start, kind+" drill skipped: "+o.Err.Error())
		return o
	}
	// The drill's own teardown finishes before it is recorded (unless the
	// agent is stopping: then the teardown is the sessions' to finish).
	if err := r.Sessions.Wait(ctx); err != nil {
		return o
	}
	if errors.Is(o.Err, session.ErrYielded) {
		r.event(start, kind+" drill yielded to a session")
		return o
	}
	rep, _ := r.Sessions.Status()
	r.record(ctx, kind, start, o, append(steps, rep.Steps...))
	return o
}

// The drill's own steps, beside the session's (link, tunnel, self-check).
const (
	StepSMSLoop = "sms_loop"
	StepPush    = "push"
)

// record keeps the drill in the state file and tells the owner what needs
// them: a failure, or the first pass after one.
func (r *Runner) record(ctx context.Context, kind string, start time.Time, o session.Outcome, steps []session.StepTime) {
	st := r.Store.Snapshot()
	rep, _ := r.Sessions.Status()
	d := &state.Drill{Time: start, Kind: kind, OK: o.Err == nil, Duration: r.Now().Sub(start), Steps: steps,
		Bytes: rep.Bytes, Registration: st.Modem.Registration}
	if st.Modem.SignalKnown {
		d.SignalDBm = st.Modem.SignalDBm
	}
	if o.Err != nil {
		d.Step, d.Reason = o.Step, o.Reason()
		if d.Step == "" {
			d.Step = "drill"
		}
	}
	again := d.OK && st.LastDrill != nil && !st.LastDrill.OK
	result := "passed"
	if !d.OK {
		result = fmt.Sprintf("FAILED at %s: %s", d.Step, d.Reason)
	}
	if err := r.Store.Update(func(s *state.State) {
		s.LastDrill = d
		s.AddEvent(start, "drill", kind+" drill "+result)
	}); err != nil {
		r.Log.Error("drill not recorded", "err", err)
	}
	r.Log.Info("drill", "kind", kind, "ok", d.OK, "step", d.Step, "reason", d.Reason, "took", d.Duration)
	if d.OK && !again {
		return
	}
	m := notify.DrillMessage(notify.DrillResult{At: start, OK: d.OK, Step: d.Step, Reason: d.Reason})
	for _, to := range r.Extra {
		r.SMS.Send(ctx, to, m.SMS)
	}
	if r.Push != nil {
		if err := r.Push.Send(ctx, m, nil); err != nil {
			r.Log.Warn("push not sent", "title", m.Title, "err", err)
		}
	}
}

func (r *Runner) event(at time.Time, msg string) {
	r.Log.Info(msg)
	if err := r.Store.Update(func(s *state.State) { s.AddEvent(at, "drill", msg) }); err != nil {
		r.Log.Error("drill event not recorded", "err", err)
	}
}
