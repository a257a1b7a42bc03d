package state

import (
	"testing"
	"time"

	"github.com/oobd/oobd/oob/session"
)

func TestRecordSession(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(st *State) { st.Session.Leftovers.Interface = "ppp0" })

	s.RecordSession(session.Report{RequestedBy: "+46701234567", State: session.StateDialing})
	if st := s.Snapshot(); !st.Session.Active || st.Session.Leftovers.Interface != "ppp0" || st.LastFailure != nil {
		t.Fatalf("dialing: %+v (the link's leftovers must be kept)", st.Session)
	}
	s.RecordSession(session.Report{RequestedBy: "+46701234567", State: session.StateIdle, Ended: t0, Step: "link", Reason: "PPP x3: no IP"})
	st := s.Snapshot()
	if st.Session.Active || st.LastFailure == nil || st.LastFailure.Step != "link" || st.LastFailure.Reason != "PPP x3: no IP" {
		t.Errorf("a failed up: session %+v, failure %+v", st.Session, st.LastFailure)
	}
	s.RecordSession(session.Report{Local: true, Drill: true, State: session.StateIdle, Started: t0, Ended: t0.Add(time.Second), Reason: "drill passed"})
	st = s.Snapshot()
	if st.Session.RequestedBy != "drill" || st.LastFailure.Time != t0 {
		t.Errorf("a passed drill: requested by %q, failure %+v (a pass is not a failure)", st.Session.RequestedBy, st.LastFailure)
	}
	if was, _ := s.EndStaleSession(t0, "restarted"); was {
		t.Error("an ended session was ended again")
	}
	s.RecordSession(session.Report{Local: true, State: session.StateUp, Started: t0})
	if st := s.Snapshot(); st.Session.RequestedBy != "local operator" {
		t.Errorf("local up: requested by %q", st.Session.RequestedBy)
	}
	if was, _ := s.EndStaleSession(t0.Add(time.Hour), "the agent restarted mid-session"); !was {
		t.Error("an active session was not ended")
	}
	if st := s.Snapshot(); st.Session.Active || st.Session.EndReason != "the agent restarted mid-session" {
		t.Errorf("after EndStaleSession: %+v", st.Session)
	}
}
