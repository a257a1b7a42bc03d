package health

import (
	"fmt"
	"strings"
	"time"
)

// sessionUp is the detail of a check a session legitimately upsets.
const sessionUp = "a session is up"

// pollPeriods and drillPeriods are how many gaps a poll or a drill may
// be late before its check fails.
const (
	pollPeriods  = 3
	drillPeriods = 2
)

// Evaluate runs every check on in at now, in the order of Names. It is a
// pure function: the Since of a check is set only where in knows when the
// state began; a Checker fills in the rest.
func Evaluate(in Input, now time.Time) []Check {
	return []Check{
		loops(in),
		modemCheck(in),
		sim(in),
		registration(in),
		poll(in, now),
		storage(in),
		lockout(in, now),
		crashLeftovers(in),
		console(in),
		drill(in, now),
	}
}

// One runs the single check called name, as Evaluate does; false for a
// name that is not one of Names. `oobd doctor` judges the SIM, the
// network and the storage through it, so it says what /healthz would.
func One(name string, in Input, now time.Time) (Check, bool) {
	switch name {
	case CheckLoops:
		return loops(in), true
	case CheckModem:
		return modemCheck(in), true
	case CheckSIM:
		return sim(in), true
	case CheckRegistration:
		return registration(in), true
	case CheckPoll:
		return poll(in, now), true
	case CheckStorage:
		return storage(in), true
	case CheckLockout:
		return lockout(in, now), true
	case CheckCrashLeftovers:
		return crashLeftovers(in), true
	case CheckConsole:
		return console(in), true
	case CheckDrill:
		return drill(in, now), true
	}
	return Check{}, false
}

func pass(name, detail string, since time.Time) Check {
	return Check{Name: name, OK: true, Detail: detail, Since: since}
}

func fail(name, detail string, since time.Time) Check {
	return Check{Name: name, OK: false, Detail: detail, Since: since}
}

func loops(in Input) Check {
	if len(in.StaleLoops) > 0 {
		return fail(CheckLoops, "stale: "+strings.Join(in.StaleLoops, ", "), time.Time{})
	}
	return pass(CheckLoops, "all alive", time.Time{})
}

func modemCheck(in Input) Check {
	m := in.Modem
	var ladder string
	if m.RecoveryStep != "" {
		ladder = "; recovering: " + m.RecoveryStep + " since " + stamp(m.RecoverySince)
	}
	switch {
	case m.Answering:
		return pass(CheckModem, "answering"+ladder, m.Since)
	case in.Session:
		// A single-port modem is lent to the dialer for the session.
		return pass(CheckModem, sessionUp+" (modem not answering: its port may be lent to the dialer)"+ladder, time.Time{})
	case m.Since.IsZero():
		return fail(CheckModem, "not answering"+ladder, time.Time{})
	}
	return fail(CheckModem, "not answering since "+stamp(m.Since)+ladder, m.Since)
}

func sim(in Input) Check {
	s := in.SIM
	state := s.State
	if state == "" {
		state = "unknown"
	}
	if state == "ready" {
		return pass(CheckSIM, "ready", time.Time{})
	}
	detail := state
	switch {
	case state == "pin-required" && s.PINAttempts >= 0:
		detail += fmt.Sprintf(", %d %s left", s.PINAttempts, plural(s.PINAttempts, "try", "tries"))
	case state == "pin-required":
		detail += ", tries left unknown"
	}
	if s.Reason != "" {
		detail += ": " + s.Reason
	}
	if in.Session {
		// The session's link runs over this SIM: it is ready, whatever
		// the last reading (taken before the port was lent) says.
		return pass(CheckSIM, sessionUp+" (last read: "+detail+")", time.Time{})
	}
	return fail(CheckSIM, detail, time.Time{})
}

func registration(in Input) Check {
	n := in.Network
	state := n.Registration
	if state == "" {
		state = "unknown"
	}
	detail := state
	if n.Operator != "" {
		detail += ", " + n.Operator
	}
	if n.SignalKnown {
		detail += fmt.Sprintf(", %d dBm", n.SignalDBm)
	} else {
		detail += ", signal unknown"
	}
	switch {
	case state == "home" || state == "roaming":
		return pass(CheckRegistration, detail, time.Time{})
	case in.Session:
		return pass(CheckRegistration, sessionUp+" (last read: "+detail+")", time.Time{})
	}
	return fail(CheckRegistration, detail, time.Time{})
}

func poll(in Input, now time.Time) Check {
	p := in.Poll
	if p.LongestGap <= 0 {
		return fail(CheckPoll, "the schedule's longest gap is not known", time.Time{})
	}
	limit := pollPeriods * p.LongestGap
	from, what := p.Last, "last poll "+stamp(p.Last)
	if from.Before(in.Started) {
		from, what = in.Started, "no poll since start-up at "+stamp(in.Started)
	}
	if from.IsZero() {
		return fail(CheckPoll, "no poll yet", time.Time{})
	}
	due := from.Add(limit)
	switch {
	case !now.After(due):
		return pass(CheckPoll, fmt.Sprintf("%s (%s ago, limit %s)", what, ago(now, from), limit), time.Time{})
	case in.Session:
		return pass(CheckPoll, sessionUp+" (polling paused; "+what+")", time.Time{})
	}
	return fail(CheckPoll, fmt.Sprintf("%s (%s ago, over %d × the schedule's longest gap %s)", what, ago(now, from), pollPeriods, p.LongestGap), due)
}

func storage(in Input) Check {
	s := in.Storage
	switch {
	case s.Total <= 0:
		// Not read yet (the modem check tells why); unknown is not full.
		return pass(CheckStorage, "not read yet", time.Time{})
	case s.Used >= s.Total:
		return fail(CheckStorage, fmt.Sprintf("full: %d of %d used", s.Used, s.Total), time.Time{})
	}
	return pass(CheckStorage, fmt.Sprintf("%d of %d used", s.Used, s.Total), time.Time{})
}

func lockout(in Input, now time.Time) Check {
	until := in.LockoutUntil
	switch {
	case until.IsZero():
		return pass(CheckLockout, "none", time.Time{})
	case now.Before(until):
		return fail(CheckLockout, "locked out until "+stamp(until), time.Time{})
	}
	return pass(CheckLockout, "none (the last ended "+stamp(until)+")", until)
}

func crashLeftovers(in Input) Check {
	c := in.Cleanup
	if c == nil {
		return pass(CheckCrashLeftovers, "none", time.Time{})
	}
	detail := "clean-up failed at " + stamp(c.FailedAt)
	if c.Error != "" {
		detail += ": " + c.Error
	}
	if len(c.Left) > 0 {
		detail += "; left: " + strings.Join(c.Left, ", ")
	}
	return fail(CheckCrashLeftovers, detail, c.FailedAt)
}

func console(in Input) Check {
	c := in.Console
	switch {
	case !c.Configured:
		return pass(CheckConsole, "not configured", time.Time{})
	case c.Open:
		return pass(CheckConsole, "open", c.Since)
	case c.Since.IsZero():
		return fail(CheckConsole, "not open", time.Time{})
	}
	return fail(CheckConsole, "not open since "+stamp(c.Since), c.Since)
}

func drill(in Input, now time.Time) Check {
	d := in.Drill
	switch {
	case !d.Last.IsZero() && !d.OK:
		// Scheduled or run by hand, a failed drill is news: the backup
		// path did not work, until a drill passes.
		detail := "last drill " + stamp(d.Last) + " failed"
		if d.FailedStep != "" {
			detail += " at " + d.FailedStep
		}
		if d.Reason != "" {
			detail += ": " + d.Reason
		}
		return fail(CheckDrill, detail, d.Last)
	case !d.Configured:
		return pass(CheckDrill, "no drill.schedule", time.Time{})
	case d.Period <= 0:
		return fail(CheckDrill, "the drill schedule's period is not known", time.Time{})
	}
	limit := drillPeriods * d.Period
	// The first period counts from start-up: a daemon that was stopped
	// for a while gets its chance to drill before it is overdue.
	from, what := d.Last, "last drill "+stamp(d.Last)+" passed"
	if from.Before(in.Started) {
		from = in.Started
		if d.Last.IsZero() {
			what = "no drill since start-up at " + stamp(in.Started)
		} else {
			what += ", none since start-up at " + stamp(in.Started)
		}
	}
	if from.IsZero() {
		return fail(CheckDrill, "no drill yet", time.Time{})
	}
	due := from.Add(limit)
	switch {
	case !now.After(due):
		return pass(CheckDrill, fmt.Sprintf("%s (next due by %s)", what, stamp(due)), d.Last)
	case in.Session:
		return pass(CheckDrill, sessionUp+" (drills wait; "+what+")", time.Time{})
	}
	return fail(CheckDrill, fmt.Sprintf("overdue: %s, %s ago (limit %d × %s)", what, ago(now, from), drillPeriods, d.Period), due)
}

// stamp formats t for a detail: UTC to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// ago is how long before now t was, to the second.
func ago(now, t time.Time) time.Duration {
	return now.Sub(t).Round(time.Second)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
