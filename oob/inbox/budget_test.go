package inbox_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// A quiet poll (nothing stored, no sign of a reset) costs at most three AT
// commands, +CMGL=4 included: counted at the simulator, not timed.
func TestQuietPollBudget(t *testing.T) {
	tests := []struct {
		name  string
		opts  []modemsim.Option
		rssi  bool // the signal changes, announced by ^RSSI
		quiet []string
	}{
		{"a modem that announces nothing", []modemsim.Option{modemsim.WithoutURCs("^RSSI", "+CREG")}, false,
			[]string{"AT+CSQ", "AT+CREG?", "AT+CMGL="}},
		{"a Huawei before its first ^RSSI: +CREG comes unsolicited", nil, false,
			[]string{"AT+CSQ", "AT+CMGL="}},
		{"a Huawei that announced its signal", nil, true,
			[]string{"AT+CMGL="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sim, err := modemsim.New(append([]modemsim.Option{modemsim.WithBootQuiet(10 * time.Millisecond)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			m := modem.New(sim.Path(), modem.WithCommandTimeout(3*time.Second), modem.WithIndications(true))
			defer m.Close()
			_, store, alog, trig := ownerParts(t)
			h := &handler{got: make(chan trigger.Request, 8)}
			p, err := inbox.New(m, trig, alog, store, h, inbox.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			// The first poll after the open reads everything.
			if err := p.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.rssi {
				sim.SetSignal(12)
				if err := m.Ping(ctx); err != nil { // heard before its answer
					t.Fatal(err)
				}
			}
			before := len(sim.Commands())
			if err := p.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			got := sim.Commands()[before:]
			if !slices.Equal(got, tt.quiet) {
				t.Errorf("a quiet poll sent %v, want %v", got, tt.quiet)
			}
			if st := store.Snapshot().Modem; !st.OK || st.Registration != "home" || st.Operator == "" || st.StorageTotal == 0 {
				t.Errorf("what the quiet poll recorded: %+v", st)
			}
			if tt.rssi {
				if st := store.Snapshot().Modem; st.SignalDBm != -89 {
					t.Errorf("signal %d dBm, want -89 (rssi 12) from ^RSSI", st.SignalDBm)
				}
			}
			// A change of registration has the operator read once.
			sim.SetRegistration(5)
			m.Ping(ctx)
			before = len(sim.Commands())
			if err := p.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if got := sim.Commands()[before:]; !slices.Contains(got, "AT+COPS?") {
				t.Errorf("after roaming began the poll sent %v, want a +COPS? among them", got)
			}
			if st := store.Snapshot().Modem; st.Registration != "roaming" {
				t.Errorf("registration %q, want roaming", st.Registration)
			}
		})
	}
}

// ownerParts are the inbox's parts around the modem, in a fresh state
// directory: the state file, the audit log and a trigger for e2eOwner.
func ownerParts(t *testing.T) (dir string, store *state.Store, alog *audit.Log, trig *trigger.Trigger) {
	t.Helper()
	dir = t.TempDir()
	store, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if alog, err = audit.Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alog.Close() })
	trig, err = trigger.New(trigger.Settings{Secret: []byte(e2eSecret), Allowlist: []string{e2eOwner},
		MaxFailures: 5, Lockout: time.Hour, MaxAge: 15 * time.Minute, DefaultDuration: 30 * time.Minute, MaxDuration: 4 * time.Hour}, store)
	if err != nil {
		t.Fatal(err)
	}
	return dir, store, alog, trig
}
