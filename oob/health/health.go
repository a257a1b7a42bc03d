// Package health says whether oobd would do its job if the owner needed it
// now. Evaluate turns what the agent knows (Input) into named checks; a
// Checker remembers since when each check has been passing or failing; and
// Handler serves them over HTTP for monitors such as Uptime Kuma:
//
//	GET /healthz        every check: 200 when all pass, 503 otherwise
//	GET /healthz/NAME   one check, same JSON shape: 200, 503, or 404
//
// Handler also mounts /metrics when given one (oob/metrics), and
// ListenAndServe runs it on a server hardened for months of unattended
// running.
package health

import (
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/link"
)

// The check names. They are part of the HTTP API (/healthz/NAME) and of
// the oobd_health_check metric: they never change.
const (
	CheckLoops          = "loops"
	CheckModem          = "modem"
	CheckSIM            = "sim"
	CheckRegistration   = "registration"
	CheckPoll           = "poll"
	CheckStorage        = "storage"
	CheckLockout        = "lockout"
	CheckCrashLeftovers = "crash_leftovers"
	CheckConsole        = "console"
	CheckDrill          = "drill"
)

// Names lists every check in the order /healthz shows them.
func Names() []string {
	return []string{
		CheckLoops, CheckModem, CheckSIM, CheckRegistration, CheckPoll,
		CheckStorage, CheckLockout, CheckCrashLeftovers, CheckConsole, CheckDrill,
	}
}

// Input is what the checks read. The agent fills it at every request from
// its parts; the zero value of a part means "nothing known", which each
// check reads as documented on its field.
type Input struct {
	// Started is when the daemon started: a poll or drill that has not
	// happened yet is counted as due from here.
	Started time.Time
	// Session is true while a session is being set up, is up, or is being
	// torn down. The checks a session legitimately upsets (the modem lent
	// to the dialer, the SIM and network not read, the paused poll, a drill
	// that must wait) pass while it lasts, with a detail that says so.
	Session bool
	// StaleLoops names the daemon's loops that missed their beat; empty
	// when all are alive.
	StaleLoops []string
	Modem      Modem
	SIM        SIM
	Network    Network
	Poll       Poll
	Storage    Storage
	// LockoutUntil is when the trigger lockout ends; zero or past: none.
	LockoutUntil time.Time
	// Cleanup is the clean-up a crash left undone (retried before every
	// dial); nil when there is none.
	Cleanup *link.CleanupFailure
	Console Console
	Drill   Drill
}

// Modem is whether the modem answers AT commands.
type Modem struct {
	// Answering turns false at the first command that gets no answer at
	// all, not at the end of the recovery ladder.
	Answering bool
	// Since is when Answering last changed (zero: unknown).
	Since time.Time
	// RecoveryStep is the rung of the recovery ladder running now
	// ("reopen", "reset", "power-cycle"); "" when none runs.
	RecoveryStep  string
	RecoverySince time.Time
}

// ModemFrom is the modem check's input from the modem's own counters.
func ModemFrom(st modem.Stats) Modem {
	return Modem{Answering: st.Answering, Since: st.Since, RecoveryStep: st.Recovery.Step, RecoverySince: st.Recovery.Since}
}

// SIM is the SIM card's state as +CPIN? reports it.
type SIM struct {
	// State is "ready", "pin-required", "puk-required", "absent", "error"
	// or "unknown" (modem.SIMState); only "ready" passes.
	State string
	// PINAttempts is the number of PIN tries left, -1 when not known.
	PINAttempts int
	// Reason says why the SIM is not ready, when the modem says more than
	// State (e.g. "PIN rejected, not sent again").
	Reason string
}

// Network is the modem's registration and signal.
type Network struct {
	// Registration is "not-registered", "home", "searching", "denied",
	// "unknown" or "roaming" (modem.Registration); home and roaming pass.
	Registration string
	Operator     string // "" when not known
	SignalDBm    int
	SignalKnown  bool
}

// Poll is when the inbox was last read, and how late that may be.
type Poll struct {
	// Last is when the last poll finished (zero: none since start-up).
	Last time.Time
	// LongestGap is the longest gap between consecutive runs of
	// trigger.schedule in the next 24 hours (schedule.Longest). A poll is
	// overdue after three of them.
	LongestGap time.Duration
}

// Storage is the SIM's message storage. Total 0 means not read yet.
type Storage struct {
	Used, Total int
}

// Console is the router console's serial device.
type Console struct {
	Configured bool // console.device is set
	Open       bool
	Since      time.Time // when Open last changed (zero: unknown)
}

// Drill is the end-to-end drill's schedule and its last run. A drill that
// yielded to a trigger is no run: leave the previous one here.
type Drill struct {
	// Configured is true when drill.schedule is set.
	Configured bool
	// Period is the longest gap between two drills (schedule.Longest of
	// drill.schedule); a drill is overdue two periods after the last one.
	Period time.Duration
	// Last is when the last drill ended (zero: never).
	Last time.Time
	OK   bool
	// FailedStep and Reason say where and why the last drill failed.
	FailedStep string
	Reason     string
	// Steps are the last drill's steps in order, with their durations
	// (for metrics; the check does not read them).
	Steps []DrillStep
}

// DrillStep is one step of a drill and how long it took.
type DrillStep struct {
	// Name is "dial", "path", "tunnel", "self-check", "push" or
	// "sms_loop"; metrics export anything else as "other".
	Name     string
	Duration time.Duration
}

// Check is the outcome of one check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Since is when the check last changed between passing and failing.
	// Evaluate sets it only where the input knows (e.g. Modem.Since);
	// a Checker always does.
	Since time.Time `json:"since"`
}

// Report is every check, as /healthz answers it.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}
