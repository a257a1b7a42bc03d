package state

import (
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
			st.Session.RequestedBy = "drill"
		case rep.RequestedBy == "" && rep.Local:
			st.Session.RequestedBy = "local operator"
		}
		if rep.State == session.StateIdle && !rep.Ended.IsZero() && rep.Started.IsZero() {
			st.SetFailure(rep.Ended, rep.Step, rep.Reason)
			st.AddEvent(rep.Ended, "session", "up failed at "+rep.Step+": "+rep.Reason)
		}
	})
}

// EndStaleSession closes a session the state file still shows as active:
// the previous run died holding it (what it left up is the link's to tear
// down). It reports whether there was one.
func (s *Store) EndStaleSession(at time.Time, reason string) (bool, error) {
	var was bool
	err := s.Update(func(st *State) {
		if !st.Session.Active {
			return
		}
		was = true
		st.Session.Active, st.Session.Ended, st.Session.EndReason = false, at, reason
		st.AddEvent(at, "session", reason)
	})
	return was, err
}

// Signal is the last signal (0 when unknown) and operator the modem
// reported.
func (s *Store) Signal() (dbm int, operator string) {
	m := s.Snapshot().Modem
	if !m.SignalKnown {
		return 0, m.Operator
	}
	return m.SignalDBm, m.Operator
}
