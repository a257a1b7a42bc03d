package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/tunnel"
)

// Status is what `oobd status --json` prints: a stable view of the state
// for scripts. Absent times are null.
type Status struct {
	Modem       StatusModem   `json:"modem"`
	LastPoll    *time.Time    `json:"last_poll"`
	Lockout     StatusLockout `json:"lockout"`
	Session     StatusSession `json:"session"`
	LastFailure *Failure      `json:"last_failure"`
	// Cleanup is a failed clean-up of a crashed run's leftovers (null when
	// none): retried before every dial.
	Cleanup *link.CleanupFailure `json:"cleanup"`
	// Console is the router console's device (absent when none is set up).
	Console   *console.State `json:"console,omitempty"`
	LastDrill *Drill         `json:"last_drill"`
	Events    []Event        `json:"events"`
	UpdatedAt *time.Time     `json:"updated_at"`
}

// StatusModem is the modem part of Status.
type StatusModem struct {
	OK           bool           `json:"ok"`
	SignalDBm    *int           `json:"signal_dbm"` // null when unknown
	Registration string         `json:"registration"`
	Operator     string         `json:"operator"`
	SIM          string         `json:"sim"`
	PINAttempts  *int           `json:"pin_attempts,omitempty"` // PIN tries left, when the SIM wants one and the modem says
	StorageUsed  int            `json:"storage_used"`
	StorageTotal int            `json:"storage_total"`
	Warning      string         `json:"warning,omitempty"`
	LastAnswer   *time.Time     `json:"last_answer"`
	LastError    string         `json:"last_error,omitempty"`
	Recovery     modem.Recovery `json:"recovery"`
}

// StatusLockout is the lockout part of Status.
type StatusLockout struct {
	Active   bool       `json:"active"`
	Until    *time.Time `json:"until"`
	Failures int        `json:"failures"`
}

// StatusSession is the session part of Status.
type StatusSession struct {
	Active      bool                  `json:"active"`
	RequestedBy string                `json:"requested_by"`
	Started     *time.Time            `json:"started"`
	Until       *time.Time            `json:"until"`
	Interface   string                `json:"interface"`
	LocalIP     string                `json:"local_ip"`
	Forwards    []tunnel.BoundForward `json:"forwards"`
	Bytes       int64                 `json:"bytes"`
	Reconnects  int                   `json:"reconnects"`
	Ended       *time.Time            `json:"ended,omitempty"`
	EndReason   string                `json:"end_reason,omitempty"`
}

// Status is the view of s at now.
func (s State) Status(now time.Time) Status {
	st := Status{
		Modem: StatusModem{
			OK:           s.Modem.OK,
			Registration: s.Modem.Registration,
			Operator:     s.Modem.Operator,
			SIM:          s.Modem.SIM,
			StorageUsed:  s.Modem.StorageUsed,
			StorageTotal: s.Modem.StorageTotal,
			Warning:      s.Modem.StorageWarning,
			LastAnswer:   timePtr(s.Modem.LastAnswer),
			LastError:    s.Modem.LastError,
			Recovery:     s.Modem.Recovery,
		},
		LastPoll: timePtr(s.LastPoll),
		Lockout: StatusLockout{
			Active:   s.Trigger.LockedOut(now),
			Failures: len(s.Trigger.Failures),
		},
		Session: StatusSession{
			Active:      s.Session.Active,
			RequestedBy: s.Session.RequestedBy,
			Started:     timePtr(s.Session.Started),
			Until:       timePtr(s.Session.Until),
			Interface:   s.Session.Interface,
			LocalIP:     s.Session.LocalIP,
			Forwards:    s.Session.Forwards,
			Bytes:       s.Session.Bytes,
			Reconnects:  s.Session.Reconnects,
			Ended:       timePtr(s.Session.Ended),
			EndReason:   s.Session.EndReason,
		},
		LastFailure: s.LastFailure,
		Cleanup:     s.Cleanup,
		Console:     s.Console,
		LastDrill:   s.LastDrill,
		Events:      s.Events,
		UpdatedAt:   timePtr(s.UpdatedAt),
	}
	if n := s.Modem.PINAttempts; s.Modem.SIM != "ready" && n >= 0 {
		st.Modem.PINAttempts = &n
	}
	if s.Modem.SignalKnown {
		d := s.Modem.SignalDBm
		st.Modem.SignalDBm = &d
	}
	if st.Lockout.Active {
		st.Lockout.Until = timePtr(s.Trigger.LockoutUntil)
	}
	if st.Session.Forwards == nil {
		st.Session.Forwards = []tunnel.BoundForward{}
	}
	if st.Events == nil {
		st.Events = []Event{}
	}
	return st
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Text is the person-readable form of the status, with times as ages
// relative to now.
func (st Status) Text(now time.Time) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if st.Session.Active {
		w("session:   ACTIVE, asked by %s, since %s, until %s", orDash(st.Session.RequestedBy), when(st.Session.Started, now), when(st.Session.Until, now))
		w("  link:    %s %s, %d bytes, %d reconnects", orDash(st.Session.Interface), orDash(st.Session.LocalIP), st.Session.Bytes, st.Session.Reconnects)
		for _, f := range st.Session.Forwards {
			port := "?"
			if f.BoundPort > 0 {
				port = fmt.Sprint(f.BoundPort)
			}
			w("  forward: jump host %s (port %s) → %s", f.Remote, port, f.Local)
		}
	} else {
		line := "session:   none"
		if st.Session.Ended != nil {
			line += fmt.Sprintf(" (last ended %s", when(st.Session.Ended, now))
			if st.Session.EndReason != "" {
				line += ": " + st.Session.EndReason
			}
			line += ")"
		}
		w("%s", line)
	}
	health := "not answering"
	if st.Modem.OK {
		health = "ok"
	}
	signal := "unknown"
	if st.Modem.SignalDBm != nil {
		signal = fmt.Sprintf("%d dBm", *st.Modem.SignalDBm)
	}
	w("modem:     %s, signal %s, %s%s, SIM %s, storage %d/%d, last answer %s",
		health, signal, orDash(st.Modem.Registration), prefixed(" ", st.Modem.Operator), orDash(st.Modem.SIM),
		st.Modem.StorageUsed, st.Modem.StorageTotal, when(st.Modem.LastAnswer, now))
	if st.Modem.LastError != "" {
		w("  error:   %s", st.Modem.LastError)
	}
	if r := st.Modem.Recovery; r.Step != "" {
		w("  recovery: step %s since %s", r.Step, when(&r.Since, now))
	}
	if c := st.Modem.Recovery.Counters; c != (modem.Counters{}) {
		w("  trouble: %d timeouts, %d late answers, %d re-opens, %d resets, %d power cycles",
			c.Timeouts, c.Resyncs, c.Reopens, c.Resets, c.PowerCycles)
	}
	if st.Modem.Warning != "" {
		w("  warning: %s", st.Modem.Warning)
	}
	w("last poll: %s", when(st.LastPoll, now))
	if st.Lockout.Active {
		w("lockout:   ACTIVE until %s (%d recent failures)", when(st.Lockout.Until, now), st.Lockout.Failures)
	} else {
		w("lockout:   none (%d recent failures)", st.Lockout.Failures)
	}
	if f := st.LastFailure; f != nil {
		w("failure:   %s at %s: %s", when(&f.Time, now), f.Step, f.Reason)
	} else {
		w("failure:   none")
	}
	if c := st.Cleanup; c != nil {
		w("cleanup:   FAILED %s: %s; left: %s (retried before every dial)", when(&c.FailedAt, now), c.Error, strings.Join(c.Left, ", "))
	}
	if c := st.Console; c != nil {
		open := "open"
		if !c.Open {
			open = "NOT open: " + c.Err
		}
		w("console:   %s since %s", open, when(&c.Since, now))
	}
	if d := st.LastDrill; d != nil {
		res := "passed"
		if !d.OK {
			res = "FAILED: " + d.Reason
		}
		w("drill:     %s, %s", when(&d.Time, now), res)
	} else {
		w("drill:     never")
	}
	if n := len(st.Events); n > 0 {
		w("recent events:")
		from := max(0, n-10)
		for _, e := range st.Events[from:] {
			w("  %s  %-7s %s", e.Time.Local().Format(time.DateTime), e.Kind, e.Message)
		}
	}
	return b.String()
}

func when(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := now.Sub(*t).Round(time.Second)
	s := t.Local().Format(time.RFC3339)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (%v ago)", s, d)
	case d < 0:
		return fmt.Sprintf("%s (in %v)", s, -d)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
