package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// Handle carries out an accepted text (inbox.Handler). It never waits for
// a session to come up: the inbox must stay free to read a `down`, and
// how an up went reaches the requester as a notice.
func (a *Agent) Handle(ctx context.Context, req trigger.Request) inbox.Reply {
	if !a.sessionsReady(ctx) {
		return inbox.Reply{}
	}
	log := a.log.With("verb", req.Verb, "sender", req.Sender)
	switch req.Verb {
	case trigger.VerbUp:
		out := a.sessions.Up(req.Sender, false, req.Duration)
		select {
		case o := <-out:
			// Answered at once: already up (the end moved) or refused.
			if o.Err != nil {
				log.Warn("up refused", "err", o.Err)
				return inbox.Reply{Text: notify.FitSMS("oobd: up refused: " + o.Err.Error())}
			}
			if o.Already {
				return inbox.Reply{Text: notify.FitSMS("oobd: session already up, now until " + o.Until.Local().Format("15:04") + ".")}
			}
		default:
		}
		return inbox.Reply{}
	case trigger.VerbExtend:
		until, err := a.sessions.Extend(req.Duration)
		if err != nil {
			return inbox.Reply{Text: "oobd: no session is running; nothing to extend."}
		}
		if until.IsZero() {
			return inbox.Reply{Text: "oobd: extended; the session is still being set up."}
		}
		return inbox.Reply{Text: "oobd: extended until " + until.Local().Format("15:04") + "."}
	case trigger.VerbDown, trigger.VerbKill:
		by := string(req.Verb) + " by " + req.Sender
		if err := a.sessions.Down(by); err != nil {
			// Nothing to end; the owner learns so only if they asked
			// with the secret (a bare kill is not answered).
			if req.Verb == trigger.VerbDown {
				return inbox.Reply{Text: "oobd: no session is running."}
			}
		}
		return inbox.Reply{}
	case trigger.VerbStatus:
		return inbox.Reply{Text: a.statusSMS()}
	}
	return inbox.Reply{}
}

// statusSMS is the one-part diagnosis a `status` text gets.
func (a *Agent) statusSMS() string {
	st := a.store.Snapshot()
	rep, active := a.sessions.Status()
	s := notify.Status{
		Now:          a.now(),
		State:        string(rep.State),
		SignalDBm:    st.Modem.SignalDBm,
		Registration: st.Modem.Registration,
		Operator:     st.Modem.Operator,
		SIM:          st.Modem.SIM,
		StorageUsed:  st.Modem.StorageUsed,
		StorageTotal: st.Modem.StorageTotal,
	}
	if !st.Modem.SignalKnown {
		s.SignalDBm = 0
	}
	if active {
		s.Until = rep.Until
	}
	if st.Trigger.LockedOut(a.now()) {
		s.LockoutUntil = st.Trigger.LockoutUntil
	}
	if d := st.LastDrill; d != nil {
		s.LastDrill, s.LastDrillOK = d.Time, d.OK
	}
	if f := st.LastFailure; f != nil {
		s.LastFailure, s.LastFailureStep, s.LastFailureWhy = f.Time, f.Step, f.Reason
	}
	return notify.StatusSMS(s)
}

// HandleControl carries out a local operator's request (control.Handler).
// An up waits for its outcome, so `oobd up` can say how it went.
func (a *Agent) HandleControl(ctx context.Context, req control.Request) control.Response {
	// The socket opens before the sessions start (it guards against a
	// second daemon); a request in that moment waits for them.
	if !a.sessionsReady(ctx) {
		return control.Response{Error: "agent stopping"}
	}
	switch req.Verb {
	case trigger.VerbUp:
		var d time.Duration
		if req.For != "" {
			var err error
			if d, err = time.ParseDuration(req.For); err != nil || d <= 0 {
				return control.Response{Error: fmt.Sprintf("bad duration %q", req.For)}
			}
		}
		return a.awaitOutcome(ctx, a.sessions.Up("", true, d), "")
	case trigger.VerbDown:
		if err := a.sessions.Down("down by the local operator"); err != nil {
			return control.Response{Error: err.Error()}
		}
		if err := a.sessions.Wait(ctx); err != nil {
			return control.Response{Error: "teardown still running: " + err.Error()}
		}
		rep, _ := a.sessions.Status()
		return control.Response{OK: true, Message: fmt.Sprintf("session down after %s, %s used", rep.Ended.Sub(rep.Started).Round(time.Second), notify.Bytes(rep.Bytes))}
	case trigger.VerbExtend:
		d, err := time.ParseDuration(req.For)
		if err != nil || d <= 0 {
			return control.Response{Error: fmt.Sprintf("bad duration %q", req.For)}
		}
		until, err := a.sessions.Extend(d)
		if err != nil {
			return control.Response{Error: err.Error()}
		}
		return control.Response{OK: true, Until: until}
	case control.VerbDrill:
		return a.awaitOutcome(ctx, a.drill(), "drill passed: link, path, tunnel and self-check all worked")
	}
	return control.Response{Error: fmt.Sprintf("unknown request %q", req.Verb)}
}

func (a *Agent) awaitOutcome(ctx context.Context, out <-chan session.Outcome, okMsg string) control.Response {
	select {
	case o := <-out:
		if o.Err != nil {
			return control.Response{Error: o.Err.Error(), Step: o.Step}
		}
		resp := control.Response{OK: true, Until: o.Until, JumpHost: a.cfg.Tunnel.JumpHost, Message: okMsg}
		if o.Already {
			resp.Message = "a session was already up; its end moved"
		}
		resp.Forwards = o.Forwards
		return resp
	case <-ctx.Done():
		return control.Response{Error: "gave up waiting: " + ctx.Err().Error()}
	}
}

// drill runs one end-to-end test and records how it went.
func (a *Agent) drill() <-chan session.Outcome {
	start := a.now()
	out := make(chan session.Outcome, 1)
	in := a.sessions.Drill()
	go func() {
		o := <-in
		if o.Step == "start" {
			// Not run (a session is up): nothing was tested, nothing to record.
			a.log.Info("drill skipped", "reason", o.Err)
			out <- o
			return
		}
		// The drill's own teardown finishes before it is recorded.
		a.sessions.Wait(context.Background())
		d := &state.Drill{Time: start, OK: o.Err == nil, Duration: a.now().Sub(start)}
		if o.Err != nil {
			d.Reason = o.Err.Error()
		}
		a.store.Update(func(st *state.State) {
			st.LastDrill = d
			st.AddEvent(start, "drill", map[bool]string{true: "passed", false: "failed: " + d.Reason}[d.OK])
		})
		a.log.Info("drill", "ok", d.OK, "reason", d.Reason, "took", d.Duration)
		out <- o
	}()
	return out
}

// sessionsReady waits until the session controller takes requests.
func (a *Agent) sessionsReady(ctx context.Context) bool {
	select {
	case <-a.sessions.Started():
		return true
	case <-ctx.Done():
		return false
	}
}
