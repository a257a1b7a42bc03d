package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/state"
)

// lockoutCheck is the daemon's lockout health check.
func lockoutCheck(t *testing.T, p *inProcess) health.Check {
	t.Helper()
	resp := p.ask(t, "status", "")
	if resp.Health != nil {
		for _, c := range resp.Health.Checks {
			if c.Name == health.CheckLockout {
				return c
			}
		}
	}
	t.Fatalf("no lockout check in %+v", resp)
	return health.Check{}
}

// `oobd unlock`: the local operator ends a lockout through the control
// socket; the owner's next text is accepted, the audit log records who
// ended it, and the failures that caused it are gone.
func TestLocalOperatorUnlocks(t *testing.T) {
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	p := startInProcess(t, ipSetup{before: func(st *state.State) {
		st.Trigger.LockoutStart, st.Trigger.LockoutUntil = until.Add(-time.Hour), until
		for range 5 {
			st.Trigger.Failures = append(st.Trigger.Failures, state.TriggerFailure{Time: until.Add(-time.Hour), Sender: owner})
		}
	}})
	if c := lockoutCheck(t, p); c.OK {
		t.Fatalf("no lockout before the unlock: %+v", c)
	}

	resp := p.ask(t, control.VerbUnlock, "")
	if !resp.OK || !strings.Contains(resp.Message, "lockout until "+until.Format(time.RFC3339)+" ended; 5 failures cleared") {
		t.Fatalf("unlock: %+v", resp)
	}
	if c := lockoutCheck(t, p); !c.OK {
		t.Errorf("still locked out after the unlock: %+v", c)
	}
	st, err := state.Read(p.stateDir)
	noErr(t, err)
	if !st.Trigger.LockoutUntil.IsZero() || len(st.Trigger.Failures) != 0 {
		t.Errorf("the ledger after the unlock: %+v", st.Trigger)
	}

	// The owner's text is answered now.
	if _, err := p.simulator.Deliver(owner, secret+" status"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent, err := p.simulator.WaitSent(ctx, 1)
	noErr(t, err)
	if sent[0].To != owner {
		t.Errorf("status reply went to %s", sent[0].To)
	}

	var unlocked []audit.Record
	f, err := os.Open(filepath.Join(p.stateDir, audit.FileName))
	noErr(t, err)
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var r audit.Record
		noErr(t, json.Unmarshal(sc.Bytes(), &r))
		if r.Verdict == "unlocked" {
			unlocked = append(unlocked, r)
		}
	}
	if len(unlocked) != 1 || unlocked[0].Sender != "local operator" || !strings.Contains(unlocked[0].Reason, "5 failures cleared") {
		t.Errorf("audit records of the unlock: %+v", unlocked)
	}

	// Again: nothing to end, and it says so.
	if again := p.ask(t, control.VerbUnlock, ""); !again.OK || !strings.HasPrefix(again.Message, "no lockout was in force; 0 failures") {
		t.Errorf("second unlock: %+v", again)
	}
}

// `oobd extend`: the local operator moves a running session's end, never
// beyond session.max_duration from its start.
func TestLocalOperatorExtends(t *testing.T) {
	p := startInProcess(t)
	if r := p.ask(t, "extend", "30m"); r.OK || !strings.Contains(r.Error, "no session") {
		t.Errorf("extend with no session: %+v", r)
	}
	up := p.ask(t, "up", "30m")
	if !up.OK {
		t.Fatalf("up: %+v", up)
	}
	ext := p.ask(t, "extend", "20m")
	if !ext.OK || ext.Until.Sub(up.Until) != 20*time.Minute {
		t.Errorf("extend 20m: until %v, was %v (%+v)", ext.Until, up.Until, ext)
	}
	// max_duration is 2h in the in-process config.
	capped := p.ask(t, "extend", "5h")
	st, err := state.Read(p.stateDir)
	noErr(t, err)
	if !capped.OK || capped.Until.Sub(st.Session.Started) > 2*time.Hour || capped.Until.Sub(st.Session.Started) < 2*time.Hour-time.Second {
		t.Errorf("extend 5h: until %v, started %v", capped.Until, st.Session.Started)
	}
	if r := p.ask(t, "extend", "soon"); r.OK {
		t.Errorf("extend soon: %+v", r)
	}
}
