package modem

import (
	"sync"
	"time"
)

// Stats are counters of the modem's troubles, for status and metrics.
type Stats struct {
	Open               bool      `json:"open"`
	Timeouts           int       `json:"timeouts"`
	Resyncs            int       `json:"resyncs"`         // late answers waited for
	ResyncFailures     int       `json:"resync_failures"` // answers that never came
	Reopens            int       `json:"reopens"`
	Resets             int       `json:"resets"`       // AT+CFUN=1,1
	PowerCycles        int       `json:"power_cycles"` // recovery_command runs
	Reinits            int       `json:"reinits"`      // settings found lost and set again
	IndicationsDropped int       `json:"indications_dropped"`
	LastError          string    `json:"last_error,omitempty"`
	LastErrorTime      time.Time `json:"last_error_time,omitzero"`
	LastAnswer         time.Time `json:"last_answer,omitzero"` // last final result from the modem
}

// Stats returns a snapshot of the counters. It does not wait for a
// running operation.
func (m *Modem) Stats() Stats { return m.stats.get() }

type statsBox struct {
	mu sync.Mutex
	s  Stats
}

func (b *statsBox) set(f func(*Stats)) {
	b.mu.Lock()
	f(&b.s)
	b.mu.Unlock()
}

func (b *statsBox) get() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}
