package agent

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/liveness"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
)

// The session's loop is never busy for longer than the watchdog's window
// on a step, and is alive through the whole hold: a hung step stops the
// pings, a long session does not.
func TestRecorderKeepsTheSessionLoopWithinTheWatchdog(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(4 * time.Hour)
	tests := []struct {
		name      string
		rep       session.Report
		aliveTill time.Duration // from now; 0: idle
	}{
		{"the way up", session.Report{State: session.StateDialing}, stepBound},
		{"the tunnel", session.Report{State: session.StateTunnel}, stepBound},
		{"held", session.Report{State: session.StateUp, Until: until}, time.Until(until) + stepBound},
		{"redialing", session.Report{State: session.StateDialing, Until: until, Redials: 1}, time.Until(until) + stepBound},
		{"idle", session.Report{State: session.StateIdle}, 0},
	}
	if stepBound >= liveness.DefaultWindow || session.DefaultBringUpTimeout >= stepBound {
		t.Fatalf("stepBound %v must lie between the way up's bound %v and the watchdog's window %v",
			stepBound, session.DefaultBringUpTimeout, liveness.DefaultWindow)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := liveness.New(liveness.DefaultWindow)
			r := &recorder{store: store, beat: live.Loop("session"), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			now := time.Now()
			r.Session(tt.rep)
			if tt.aliveTill == 0 {
				if ok, _ := live.Check(now.Add(100 * 24 * time.Hour)); !ok {
					t.Error("an idle session loop went stale")
				}
				return
			}
			if ok, stale := live.Check(now.Add(tt.aliveTill - time.Second)); !ok {
				t.Errorf("stale %v before %v", stale, tt.aliveTill)
			}
			if ok, _ := live.Check(now.Add(tt.aliveTill + time.Second)); ok {
				t.Errorf("still alive after %v", tt.aliveTill)
			}
		})
	}
}
