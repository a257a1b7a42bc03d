// Package requests carries out what the owner asks, by text (through the
// inbox) or on the box (through the control socket): start, extend and end
// a session, the status, a drill, and (on the box only) an end to the
// trigger's lockout. It never waits for a session to come up
// when a text asked (the inbox must stay free to read a `down`); the box's
// operator waits for the outcome.
package requests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// Handler carries out requests on the sessions.
type Handler struct {
	Sessions *session.Controller
	Store    *state.Store
	JumpHost string // tunnel.jump_host, for the operator's ssh line
	// Lockout says whether the trigger's lockout is in force, and until
	// when (the trigger judges it on the time it trusts).
	Lockout func() (bool, time.Time)
	// Health runs the health checks.
	Health func() health.Report
	// Drill runs one drill now and returns once it is recorded.
	Drill func(ctx context.Context) session.Outcome
	// Unlock ends the trigger's lockout and clears its failures.
	Unlock func() (trigger.LockoutEnded, error)
	// Audit records what the local operator did to the trigger.
	Audit Auditor
	Log   *slog.Logger
	Now   func() time.Time
}

// Auditor keeps the audit log; *audit.Log satisfies it.
type Auditor interface {
	Write(r audit.Record) error
}

// LocalOperator is who the audit log and the state name for what is asked
// on the box itself.
const LocalOperator = "local operator"

// Text carries out an accepted text (inbox.Handler).
func (h *Handler) Text(ctx context.Context, req trigger.Request) inbox.Reply {
	if !h.ready(ctx) {
		return inbox.Reply{}
	}
	log := h.Log.With("verb", req.Verb, "sender", req.Sender)
	switch req.Verb {
	case trigger.VerbUp:
		select {
		case o := <-h.Sessions.Up(req.Sender, false, req.Duration):
			// Answered at once: already up (the end moved) or refused.
			if o.Err != nil {
				log.Warn("up refused", "err", o.Err)
				return inbox.Reply{Text: notify.UpRefusedSMS(o.Err.Error())}
			}
			if o.Already {
				return inbox.Reply{Text: notify.AlreadyUpSMS(o.Until)}
			}
		default: // how it goes reaches the requester as a notice
			return inbox.Reply{Started: h.Sessions.Dialing()}
		}
	case trigger.VerbExtend:
		until, err := h.Sessions.Extend(req.Duration)
		return inbox.Reply{Text: notify.ExtendedSMS(until, err == nil)}
	case trigger.VerbDown, trigger.VerbKill:
		if err := h.Sessions.Down(string(req.Verb) + " by " + req.Sender); err != nil && req.Verb == trigger.VerbDown {
			// Nothing to end; the owner learns so only if they asked with
			// the secret (a bare kill is never answered).
			return inbox.Reply{Text: notify.NoSessionSMS()}
		}
	case trigger.VerbStatus:
		return inbox.Reply{Text: h.statusSMS()}
	}
	return inbox.Reply{}
}

// statusSMS is the one-part diagnosis a `status` text gets.
func (h *Handler) statusSMS() string {
	st := h.Store.Snapshot()
	rep, active := h.Sessions.Status()
	now := h.Now()
	s := notify.Status{
		Now:          now,
		State:        string(rep.State),
		Registration: st.Modem.Registration,
		Operator:     st.Modem.Operator,
		SIM:          st.Modem.SIM,
		SIMTries:     st.Modem.PINAttempts,
		StorageUsed:  st.Modem.StorageUsed,
		StorageTotal: st.Modem.StorageTotal,
	}
	if st.Modem.SignalKnown {
		s.SignalDBm = st.Modem.SignalDBm
	}
	if active {
		s.Until = rep.Until
	}
	if on, until := h.Lockout(); on {
		s.LockoutUntil = until
	}
	if d := st.LastDrill; d != nil {
		s.LastDrill, s.LastDrillOK = d.Time, d.OK
	}
	if f := st.LastFailure; f != nil {
		s.LastFailure, s.LastFailureStep, s.LastFailureWhy = f.Time, f.Step, f.Reason
	}
	return notify.StatusSMS(s)
}

// Control carries out a local operator's request (control.Handler). An up
// and a drill wait for their outcome, so `oobd up` can say how it went.
func (h *Handler) Control(ctx context.Context, req control.Request) control.Response {
	// The socket opens before the sessions start (it guards against a
	// second daemon); a request in that moment waits for them.
	if !h.ready(ctx) {
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
		return h.await(ctx, h.Sessions.Up("", true, d), "")
	case trigger.VerbDown:
		if err := h.Sessions.Down("down by the local operator"); err != nil {
			return control.Response{Error: err.Error()}
		}
		if err := h.Sessions.Wait(ctx); err != nil {
			return control.Response{Error: "teardown still running: " + err.Error()}
		}
		rep, _ := h.Sessions.Status()
		return control.Response{OK: true, Message: fmt.Sprintf("session down after %s, %s used",
			rep.Ended.Sub(rep.Started).Round(time.Second), notify.Bytes(rep.Bytes))}
	case trigger.VerbExtend:
		d, err := time.ParseDuration(req.For)
		if err != nil || d <= 0 {
			return control.Response{Error: fmt.Sprintf("bad duration %q", req.For)}
		}
		until, err := h.Sessions.Extend(d)
		if err != nil {
			return control.Response{Error: err.Error()}
		}
		return control.Response{OK: true, Until: until}
	case trigger.VerbStatus:
		rep, st := h.Health(), h.Store.Snapshot()
		return control.Response{OK: true, Health: &rep, State: &st}
	case control.VerbUnlock:
		return h.unlock()
	case control.VerbDrill:
		out := make(chan session.Outcome, 1)
		go func() { out <- h.Drill(ctx) }()
		resp := h.await(ctx, out, "drill passed: link, path, tunnel, self-check and push all worked")
		if steps := h.drillSteps(); steps != "" {
			// The drill that just ran is the last one recorded.
			if resp.OK {
				resp.Message += "\n" + steps
			} else {
				resp.Error += "\n" + steps
			}
		}
		return resp
	}
	return control.Response{Error: fmt.Sprintf("unknown request %q", req.Verb)}
}

// drillSteps is the last drill's steps and how long each took, e.g.
// "steps: dial 1.2s, path 80ms, tunnel 310ms, self-check 150ms, push 420ms".
func (h *Handler) drillSteps() string {
	d := h.Store.Snapshot().LastDrill
	if d == nil || len(d.Steps) == 0 {
		return ""
	}
	parts := make([]string, 0, len(d.Steps))
	for _, st := range d.Steps {
		p := st.Name + " " + st.Took.Round(time.Millisecond).String()
		if st.Err != "" {
			p += " (failed)"
		}
		parts = append(parts, p)
	}
	return "steps: " + strings.Join(parts, ", ")
}

// unlock ends the lockout for the local operator, and records it in the
// audit log (where the texts that caused it are) and the state's events.
func (h *Handler) unlock() control.Response {
	e, err := h.Unlock()
	if err != nil {
		return control.Response{Error: err.Error()}
	}
	var what string
	switch {
	case e.Active:
		what = "lockout until " + e.Until.UTC().Format(time.RFC3339) + " ended"
	default:
		what = "no lockout was in force"
	}
	what += fmt.Sprintf("; %d %s cleared", e.Failures, plural(e.Failures, "failure", "failures"))
	now := h.Now()
	rec := audit.Record{Time: now, Sender: LocalOperator, Verdict: string(trigger.Unlocked), Reason: what + " (oobd unlock)"}
	if err := h.Audit.Write(rec); err != nil {
		h.Log.Error("unlock: audit record not written", "err", err)
	}
	if err := h.Store.Update(func(st *state.State) { st.AddEvent(now, "trigger", what+" by the "+LocalOperator) }); err != nil {
		h.Log.Error("unlock: event not recorded", "err", err)
	}
	h.Log.Info("trigger unlocked by the local operator", "was_locked", e.Active, "failures", e.Failures)
	return control.Response{OK: true, Until: e.Until, Message: what}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (h *Handler) await(ctx context.Context, out <-chan session.Outcome, okMsg string) control.Response {
	select {
	case o := <-out:
		if o.Err != nil {
			return control.Response{Error: o.Reason(), Step: o.Step}
		}
		resp := control.Response{OK: true, Until: o.Until, JumpHost: h.JumpHost, Message: okMsg, Forwards: o.Forwards}
		if o.Already {
			resp.Message = "a session was already up; its end moved"
		}
		return resp
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return control.Response{Error: fmt.Sprintf("gave up waiting after %v: see oobd status", control.RequestTimeout)}
		}
		return control.Response{Error: "gave up waiting: " + ctx.Err().Error()}
	}
}

// ready waits until the session controller takes requests.
func (h *Handler) ready(ctx context.Context) bool {
	select {
	case <-h.Sessions.Started():
		return true
	case <-ctx.Done():
		return false
	}
}
