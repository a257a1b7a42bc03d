// Package state keeps what oobd knows between runs and shows to
// `oobd status`: modem health, polls, the trigger's lockout and used-code
// ledger, the session and what it left behind, failures, drills and recent
// events. It lives in state_dir/state.json, written atomically.
package state

import (
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/tunnel"
)

// Version is the layout version written into state.json.
const Version = 1

// MaxEvents is how many recent events are kept by default.
const MaxEvents = 50

// State is the whole of state.json. Times are written in RFC 3339; zero
// times and empty parts are left out.
type State struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`

	Modem    Modem     `json:"modem"`
	LastPoll time.Time `json:"last_poll,omitzero"`
	Trigger  Trigger   `json:"trigger"`
	Session  Session   `json:"session"`

	LastFailure *Failure `json:"last_failure,omitempty"`
	// Console is whether the router's console device is open, when one is
	// configured.
	Console *console.State `json:"console,omitempty"`
	// Cleanup is a clean-up of a crashed run's leftovers that failed: it
	// is retried before every dial, and /healthz shows it.
	Cleanup   *link.CleanupFailure `json:"cleanup,omitempty"`
	LastDrill *Drill               `json:"last_drill,omitempty"`

	// Events are the most recent notable things, oldest first.
	Events []Event `json:"events,omitempty"`
}

// Modem is the modem's health as last seen.
type Modem struct {
	OK           bool      `json:"ok"`
	LastAnswer   time.Time `json:"last_answer,omitzero"` // last time it answered at all
	LastError    string    `json:"last_error,omitempty"`
	SignalDBm    int       `json:"signal_dbm"`
	SignalKnown  bool      `json:"signal_known"`
	Registration string    `json:"registration,omitempty"`
	Operator     string    `json:"operator,omitempty"`
	SIM          string    `json:"sim,omitempty"`
	PINAttempts  int       `json:"pin_attempts,omitempty"`
	IMSI         string    `json:"imsi,omitempty"`
	ICCID        string    `json:"iccid,omitempty"`
	StorageUsed  int       `json:"storage_used"`
	StorageTotal int       `json:"storage_total"`
	// StorageWarning is set while SMS storage is near full.
	StorageWarning string `json:"storage_warning,omitempty"`
	// Recovery is the recovery ladder's step (while one runs) and the
	// modem's troubles, counted over every run. The modem writes it
	// through its Memory.
	Recovery modem.Recovery `json:"recovery,omitzero"`
	// RejectedPIN is the digest of a PIN the SIM rejected (never the PIN):
	// it is not sent again until the PIN file changes.
	RejectedPIN string `json:"rejected_pin,omitempty"`
}

// SetInfo records what the modem reported.
func (m *Modem) SetInfo(in modem.Info) {
	m.SignalDBm, m.SignalKnown = in.SignalDBm, in.SignalKnown
	m.Registration, m.Operator = string(in.Registration), in.Operator
	m.SIM, m.PINAttempts = string(in.SIM), in.PINAttempts
	m.IMSI, m.ICCID = in.IMSI, in.ICCID
	m.StorageUsed, m.StorageTotal = in.StorageUsed, in.StorageTotal
}

// Trigger is what the SMS trigger must remember across restarts.
type Trigger struct {
	// LastStep is the TOTP time step of the last accepted code; a code for
	// this step or an earlier one is a replay.
	LastStep int64 `json:"last_step,omitempty"`
	// NewestSCTS is the newest service-centre timestamp of an accepted
	// message: a trusted time when the local clock is not.
	NewestSCTS time.Time `json:"newest_scts,omitzero"`
	// Failures are the recent wrong secrets and codes from allowlisted
	// senders, by local clock; old ones are pruned.
	Failures []TriggerFailure `json:"failures,omitempty"`
	// TrustedAt is the trusted time when the ledger was last written: a
	// run after a restart without a synchronised clock goes on from it.
	TrustedAt time.Time `json:"trusted_at,omitzero"`
	// LockoutUntil is when the current lockout ends (zero: none), on the
	// trusted time's scale.
	LockoutUntil time.Time `json:"lockout_until,omitzero"`
	LockoutStart time.Time `json:"lockout_start,omitzero"`
}

// TriggerFailure is one failure counted towards lockout.
type TriggerFailure struct {
	Time   time.Time `json:"time"`
	Sender string    `json:"sender"`
}

// Session is the current (or last) session; the session lifecycle fills
// it. Leftovers are what a crashed run must tear down at the next start.
type Session struct {
	Active      bool                  `json:"active"`
	RequestedBy string                `json:"requested_by,omitempty"`
	Started     time.Time             `json:"started,omitzero"`
	Until       time.Time             `json:"until,omitzero"`
	Ended       time.Time             `json:"ended,omitzero"`
	EndReason   string                `json:"end_reason,omitempty"`
	Interface   string                `json:"interface,omitempty"`
	LocalIP     string                `json:"local_ip,omitempty"`
	Forwards    []tunnel.BoundForward `json:"forwards,omitempty"`
	Bytes       int64                 `json:"bytes"`
	Reconnects  int                   `json:"reconnects,omitempty"`
	// Leftovers are what the link has up that a crashed run's successor
	// must tear down; the link writes them through its Journal.
	Leftovers link.Leftovers `json:"leftovers,omitzero"`
}

// Failure is the last thing that went wrong, and at which step.
type Failure struct {
	Time   time.Time `json:"time"`
	Step   string    `json:"step"`   // e.g. "dial", "route", "tunnel", "modem"
	Reason string    `json:"reason"` // e.g. "PPP x3: no IP"
}

// Drill is the outcome of the last end-to-end drill that ran to a
// verdict (a drill skipped or yielded to a session is an event).
type Drill struct {
	Time     time.Time     `json:"time"`
	Kind     string        `json:"kind,omitempty"` // "scheduled" or "manual"
	OK       bool          `json:"ok"`
	Step     string        `json:"step,omitempty"` // the step that failed
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Steps are the drill's steps with how long each took.
	Steps        []session.StepTime `json:"steps,omitempty"`
	Bytes        uint64             `json:"bytes,omitempty"`
	SignalDBm    int                `json:"signal_dbm,omitempty"` // 0: unknown
	Registration string             `json:"registration,omitempty"`
}

// Event is one line of recent history.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // e.g. "sms", "session", "modem"
	Message string    `json:"message"`
}

// AddEvent appends an event, keeping the last MaxEvents.
func (s *State) AddEvent(at time.Time, kind, msg string) {
	s.Events = append(s.Events, Event{Time: at, Kind: kind, Message: msg})
	if n := len(s.Events) - MaxEvents; n > 0 {
		s.Events = append([]Event(nil), s.Events[n:]...)
	}
}

// SetFailure records the last failure.
func (s *State) SetFailure(at time.Time, step, reason string) {
	s.LastFailure = &Failure{Time: at, Step: step, Reason: reason}
}

// LockedOut reports whether a lockout is in force at now.
func (t Trigger) LockedOut(now time.Time) bool {
	return !t.LockoutUntil.IsZero() && now.Before(t.LockoutUntil)
}
