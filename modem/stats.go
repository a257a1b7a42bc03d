package modem

import (
	"log/slog"
	"sync"
	"time"
)

// Counters count the modem's troubles and what it took to keep it
// answering. With WithMemory they add up across restarts.
type Counters struct {
	Timeouts       int `json:"timeouts,omitempty"`        // commands that got no answer in time
	Resyncs        int `json:"resyncs,omitempty"`         // late answers waited for
	ResyncFailures int `json:"resync_failures,omitempty"` // answers that never came
	Reopens        int `json:"reopens,omitempty"`         // port re-opened by the ladder
	Resets         int `json:"resets,omitempty"`          // AT+CFUN=1,1
	PowerCycles    int `json:"power_cycles,omitempty"`    // recovery_command runs
	Reinits        int `json:"reinits,omitempty"`         // settings found lost and set again
}

// Recovery is the recovery ladder's progress and the counters.
type Recovery struct {
	// Step is the rung running now (StepReopen, StepReset,
	// StepPowerCycle), "" when no ladder runs; Since is when it began.
	Step  string    `json:"step,omitempty"`
	Since time.Time `json:"since,omitzero"`
	Counters
}

// Stats are the modem's health and counters, for status and metrics.
type Stats struct {
	// Answering turns false at the first command that gets no reply at
	// all within the command timeout, and true at the next answer.
	Answering          bool      `json:"answering"`
	Since              time.Time `json:"since,omitzero"` // when Answering last changed
	Open               bool      `json:"open"`
	Recovery           Recovery  `json:"recovery"`
	IndicationsDropped int       `json:"indications_dropped,omitempty"`
	LastError          string    `json:"last_error,omitempty"`
	LastErrorTime      time.Time `json:"last_error_time,omitzero"`
	LastAnswer         time.Time `json:"last_answer,omitzero"` // last final result from the modem
}

// Memory keeps what a Modem must not forget when the program restarts:
// the counters, the ladder's step, and the digest of a PIN the SIM
// rejected (so that it is never sent again). oobd keeps it in its state
// file; without WithMemory it lasts as long as the Modem.
type Memory interface {
	Recall() Remembered
	// Remember keeps r; it is called on every change of r.
	Remember(r Remembered) error
}

// Remembered is what a Memory keeps.
type Remembered struct {
	Recovery Recovery
	// RejectedPIN is the hex SHA-256 of the PIN the SIM rejected, with the
	// SIM's ICCID (or of the PIN alone when no ICCID could be read); ""
	// when none was.
	RejectedPIN string
}

// Stats returns a snapshot of the health and counters. It does not wait
// for a running operation.
func (m *Modem) Stats() Stats { return m.stats.get() }

// statsBox holds Stats for readers that must not wait for the port, and
// writes what is remembered through on change.
type statsBox struct {
	mu     sync.Mutex // guards s and pin
	s      Stats
	pin    string // the remembered RejectedPIN
	memory Memory
	log    *slog.Logger
}

func (b *statsBox) init(mem Memory, log *slog.Logger) {
	b.memory, b.log = mem, log
	if mem == nil {
		return
	}
	r := mem.Recall()
	b.s.Recovery = r.Recovery
	// A ladder cannot be running at start: whatever was recorded was
	// interrupted.
	b.s.Recovery.Step, b.s.Recovery.Since = "", time.Time{}
	b.pin = r.RejectedPIN
}

// set changes the stats; what is remembered is written through when it
// changed.
func (b *statsBox) set(f func(*Stats)) {
	b.mu.Lock()
	before := b.s.Recovery
	f(&b.s)
	changed := b.s.Recovery != before
	r := Remembered{Recovery: b.s.Recovery, RejectedPIN: b.pin}
	b.mu.Unlock()
	if changed {
		b.remember(r)
	}
}

func (b *statsBox) remember(r Remembered) {
	if b.memory == nil {
		return
	}
	if err := b.memory.Remember(r); err != nil {
		b.log.Error("modem: could not remember its state", "err", err)
	}
}

func (b *statsBox) get() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}

// answered is told of every final result from the modem.
func (b *statsBox) answered(t time.Time) {
	b.set(func(s *Stats) {
		s.LastAnswer = t
		if !s.Answering {
			s.Answering, s.Since = true, t
		}
	})
}

// timedOut counts a command that got no final result; silent means not a
// byte came back.
func (b *statsBox) timedOut(silent bool, t time.Time) {
	b.set(func(s *Stats) {
		s.Recovery.Timeouts++
		if silent && (s.Answering || s.Since.IsZero()) {
			s.Answering, s.Since = false, t
		}
	})
}

// step records the ladder's rung ("" when it ends).
func (b *statsBox) step(name string, t time.Time) {
	b.set(func(s *Stats) {
		s.Recovery.Step, s.Recovery.Since = name, t
		if name == "" {
			s.Recovery.Since = time.Time{}
		}
	})
}

// rejectedPIN returns the remembered digest of a rejected PIN.
func (b *statsBox) rejectedPIN() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pin
}

// setRejectedPIN remembers (or, with "", forgets) a rejected PIN.
func (b *statsBox) setRejectedPIN(digest string) {
	b.mu.Lock()
	changed := b.pin != digest
	b.pin = digest
	r := Remembered{Recovery: b.s.Recovery, RejectedPIN: b.pin}
	b.mu.Unlock()
	if changed {
		b.remember(r)
	}
}
