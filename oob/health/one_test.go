package health

import (
	"testing"
	"time"
)

// One says what Evaluate says, check by check, on a healthy input and on
// one where most checks fail.
func TestOneMatchesEvaluate(t *testing.T) {
	broken := Input{
		Started:    started,
		StaleLoops: []string{"inbox"},
		SIM:        SIM{State: "pin-required", PINAttempts: 2},
		Network:    Network{Registration: "searching"},
		Poll:       Poll{LongestGap: time.Minute},
		Storage:    Storage{Used: 30, Total: 30},
		Console:    Console{Configured: true},
		Drill:      Drill{Configured: true, Period: time.Hour, Last: t0.Add(-time.Hour), FailedStep: "dial"},
	}
	for _, in := range []Input{healthy(), broken} {
		for _, want := range Evaluate(in, t0) {
			got, ok := One(want.Name, in, t0)
			if !ok || got != want {
				t.Errorf("One(%s) = %+v, %v; Evaluate has %+v", want.Name, got, ok, want)
			}
		}
	}
	if c, ok := One("nonesuch", healthy(), t0); ok {
		t.Errorf("One(nonesuch) = %+v, true", c)
	}
}
