package state

import (
	"slices"
	"time"

	"github.com/oobd/oobd/oob/session"
)

// RecordSession keeps the session as the lifecycle reports it (it is the
// session's Recorder): `oobd status` shows it, and a failed up becomes the
// last failure. The leftovers the link recorded are kept as they are.
func (s *Store) RecordSession(rep session.Report) error {
	return s.Update(func(st *State) {
		lo := st.Session.Leftovers
		st.Session = Session{
			Active:      rep.State != session.StateIdle,
			RequestedBy: rep.RequestedBy,
			Started:     rep.Started,
			Until:       rep.Until,
			Ended:       rep.Ended,
			EndReason:   rep.Reason,
			Interface:   rep.Interface,
			LocalIP:     rep.LocalIP,
			Bytes:       int64(rep.Bytes),
			Reconnects:  rep.Reconnects,
			Forwards:    rep.Forwards,
			Leftovers:   lo,
		}
		switch {
		case rep.Drill:
			st.Session.RequestedBy = requestedByDrill
		case rep.RequestedBy == "" && rep.Local:
			st.Session.RequestedBy = requestedByLocal
		}
		if rep.State == session.StateIdle && !rep.Ended.IsZero() && rep.Started.IsZero() {
			st.SetFailure(rep.Ended, rep.Step, rep.Reason)
			st.AddEvent(rep.Ended, "session", "up failed at "+rep.Step+": "+rep.Reason)
		}
	})
}

// EndStaleSession closes a session the state file still shows as active:
// one a run that crashed or was killed left behind. It returns the session
// as it stood (with its end), nil when none was active.
func (s *Store) EndStaleSession(at time.Time, reason string) (*Session, error) {
	var stale *Session
	err := s.Update(func(st *State) {
		if !st.Session.Active {
			return
		}
		st.Session.Active, st.Session.Ended, st.Session.EndReason = false, at, reason
		st.AddEvent(at, "session", reason)
		was := st.Session
		was.Forwards = slices.Clone(was.Forwards)
		stale = &was
	})
	return stale, err
}

// Report is the session as the session package reports it, for the
// notices of a session a crash ended.
func (s Session) Report() session.Report {
	r := session.Report{RequestedBy: s.RequestedBy, Started: s.Started, Until: s.Until, Ended: s.Ended,
		Reason: s.EndReason, Interface: s.Interface, LocalIP: s.LocalIP, Forwards: s.Forwards,
		Bytes: uint64(max(s.Bytes, 0)), Reconnects: s.Reconnects}
	switch s.RequestedBy {
	case requestedByDrill:
		r.RequestedBy, r.Drill, r.Local = "", true, true
	case requestedByLocal:
		r.RequestedBy, r.Local = "", true
	}
	return r
}

// Who asked for a session that no phone number asked for, as the state
// file says it.
const (
	requestedByDrill = "drill"
	requestedByLocal = "local operator"
)

// Signal is the last signal (0 when unknown) and operator the modem
// reported.
func (s *Store) Signal() (dbm int, operator string) {
	m := s.Snapshot().Modem
	if !m.SignalKnown {
		return 0, m.Operator
	}
	return m.SignalDBm, m.Operator
}
