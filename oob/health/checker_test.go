package health

import (
	"testing"
	"time"
)

// clock is a settable time for a Checker.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCheckerKeepsSince(t *testing.T) {
	notAnswering := func(since time.Time) func(*Input) {
		return func(in *Input) { in.Modem = Modem{Since: since} }
	}
	answering := func(since time.Time) func(*Input) {
		return func(in *Input) { in.Modem = Modem{Answering: true, Since: since} }
	}
	// Each step runs at its time on the same Checker.
	steps := []struct {
		name       string
		at         time.Time
		change     func(*Input)
		modemSince time.Time // what the report says
		loopsSince time.Time
		ok         bool
	}{
		{"first evaluation takes the input's since", t0, answering(started), started, t0, true},
		{"unchanged state keeps it", t0.Add(time.Minute), answering(started), started, t0, true},
		{"a change takes the input's since", t0.Add(3 * time.Minute), notAnswering(t0.Add(2 * time.Minute)), t0.Add(2 * time.Minute), t0, false},
		{"a later hint while unchanged is ignored", t0.Add(4 * time.Minute), notAnswering(t0.Add(4 * time.Minute)), t0.Add(2 * time.Minute), t0, false},
		{"a change with a stale hint takes now", t0.Add(5 * time.Minute), answering(started), t0.Add(5 * time.Minute), t0, true},
		{"a change with a hint from the future takes now", t0.Add(6 * time.Minute), notAnswering(t0.Add(time.Hour)), t0.Add(6 * time.Minute), t0, false},
		{"a change without a hint takes now", t0.Add(7 * time.Minute), answering(time.Time{}), t0.Add(7 * time.Minute), t0, true},
	}
	clk := &clock{}
	c := NewChecker(clk.now)
	for _, s := range steps {
		clk.t = s.at
		in := healthy()
		in.Poll.Last = s.at
		s.change(&in)
		rep := c.Check(in)
		if rep.OK != s.ok {
			t.Errorf("%s: report ok=%v, want %v", s.name, rep.OK, s.ok)
		}
		for _, ch := range rep.Checks {
			want := map[string]time.Time{CheckModem: s.modemSince, CheckLoops: s.loopsSince}[ch.Name]
			if !want.IsZero() && !ch.Since.Equal(want) {
				t.Errorf("%s: %s since %v, want %v", s.name, ch.Name, ch.Since, want)
			}
			if ch.Since.IsZero() || ch.Since.Location() != time.UTC {
				t.Errorf("%s: %s since %v, want a UTC time", s.name, ch.Name, ch.Since)
			}
		}
	}
}
