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
	if stale, _ := s.EndStaleSession(t0, "restarted"); stale != nil {
		t.Error("an ended session was ended again")
	}
	s.RecordSession(session.Report{Local: true, State: session.StateUp, Started: t0})
	if st := s.Snapshot(); st.Session.RequestedBy != "local operator" {
		t.Errorf("local up: requested by %q", st.Session.RequestedBy)
	}
	stale, _ := s.EndStaleSession(t0.Add(time.Hour), "the agent restarted mid-session")
	if stale == nil {
		t.Fatal("an active session was not ended")
	}
	if rep := stale.Report(); !rep.Local || rep.Drill || rep.RequestedBy != "" || !rep.Ended.Equal(t0.Add(time.Hour)) || rep.Reason != "the agent restarted mid-session" {
		t.Errorf("the stale session's report: %+v", rep)
	}
	if st := s.Snapshot(); st.Session.Active || st.Session.EndReason != "the agent restarted mid-session" {
		t.Errorf("after EndStaleSession: %+v", st.Session)
	}
}

func TestStaleSessionReport(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		by           string
		wantBy       string
		local, drill bool
	}{
		{"+46701234567", "+46701234567", false, false},
		{"local operator", "", true, false},
		{"drill", "", true, true},
	} {
		rep := Session{RequestedBy: tt.by, Started: t0, Ended: t0.Add(time.Minute), Bytes: 1200, EndReason: "restarted"}.Report()
		if rep.RequestedBy != tt.wantBy || rep.Local != tt.local || rep.Drill != tt.drill || rep.Bytes != 1200 || rep.Reason != "restarted" {
			t.Errorf("%q: %+v", tt.by, rep)
		}
	}
}
