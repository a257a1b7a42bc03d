package state

import (
	"github.com/oobd/oobd/oob/health"
)

// HealthInput is what the state file knows for the health checks: the
// SIM, the network and the storage as last polled, the last poll, a failed
// clean-up, the console device and the last drill. The caller adds what
// only the running daemon knows (its loops, the modem's answering, the
// session, the lockout, the schedules' periods).
func (s State) HealthInput() health.Input {
	m := s.Modem
	in := health.Input{
		SIM:     health.SIM{State: m.SIM, PINAttempts: m.PINAttempts},
		Network: health.Network{Registration: m.Registration, Operator: m.Operator, SignalDBm: m.SignalDBm, SignalKnown: m.SignalKnown},
		Poll:    health.Poll{Last: s.LastPoll},
		Storage: health.Storage{Used: m.StorageUsed, Total: m.StorageTotal},
		Cleanup: s.Cleanup,
	}
	if m.SIM == "ready" {
		in.SIM.PINAttempts = -1
	}
	if c := s.Console; c != nil {
		in.Console.Open, in.Console.Since = c.Open, c.Since
	}
	if d := s.LastDrill; d != nil {
		in.Drill.Last, in.Drill.OK, in.Drill.FailedStep, in.Drill.Reason = d.Time.Add(d.Duration), d.OK, d.Step, d.Reason
		for _, st := range d.Steps {
			in.Drill.Steps = append(in.Drill.Steps, health.DrillStep{Name: st.Name, Duration: st.Took})
		}
	}
	return in
}
