package modem

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oobd/oobd/modem/modemsim"
)

// logRecorder is a slog.Handler that keeps every message logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// count is how many messages logged contain s.
func (r *logRecorder) count(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// enterWrongPINs has a Modem without a PIN file type n wrong PINs, as a
// person at the keyboard would, and closes it.
func enterWrongPINs(t *testing.T, s *modemsim.Simulator, n int) {
	t.Helper()
	ctx := testCtx(t)
	m := openSimulated(t, s)
	for i := 0; i < n; i++ {
		err := m.do(ctx, func(*atConn) error {
			_, err := m.command(ctx, `+CPIN="0000"`, m.o.cmdTimeout)
			return err
		})
		var ae *ATError
		if !errors.As(err, &ae) {
			t.Fatalf("wrong PIN %d: %v, want the SIM's refusal", i+1, err)
		}
	}
	m.Close()
}

// 3GPP TS 31.102: a wrong PIN with one try left puts the SIM into PUK.
// With one try left the right PIN is not sent either.
func TestPINNeverSentWithOneTryLeft(t *testing.T) {
	tests := []struct {
		name     string
		opts     []modemsim.Option
		wrong    int // wrong PINs entered by hand first
		wantSent int // AT+CPIN= sent by the Modem with the PIN file
		wantSIM  SIMState
		wantLeft int // Info.PINAttempts
	}{
		{"two tries left, counted by ^CPIN", nil, 1, 1, SIMReady, -1},
		{"one try left, counted by ^CPIN", nil, 2, 0, SIMPIN, 1},
		{"one try left, counted by +CPINR", []modemsim.Option{modemsim.WithoutCommands("^CPIN")}, 2, 0, SIMPIN, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t, append([]modemsim.Option{modemsim.WithPIN("1234")}, tt.opts...)...)
			enterWrongPINs(t, s, tt.wrong)
			if left := s.Status().PINLeft; left != 3-tt.wrong {
				t.Fatalf("set-up: %d tries left, want %d", left, 3-tt.wrong)
			}
			before := len(s.Commands())
			ctx := testCtx(t)
			m := openSimulated(t, s, WithPINFile(pinFile(t, "1234")))
			in, err := m.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, msgErr := m.Messages(ctx)
			if n := modemsim.Count(s.Commands()[before:], "AT+CPIN="); n != tt.wantSent {
				t.Errorf("AT+CPIN= sent %d times, want %d", n, tt.wantSent)
			}
			if in.SIM != tt.wantSIM || in.PINAttempts != tt.wantLeft {
				t.Errorf("Info: SIM %s with %d tries left, want %s with %d", in.SIM, in.PINAttempts, tt.wantSIM, tt.wantLeft)
			}
			if tt.wantSIM == SIMReady {
				if msgErr != nil {
					t.Errorf("Messages with the SIM ready: %v", msgErr)
				}
				return
			}
			if !strings.Contains(in.SIMReason, "one PIN attempt left") {
				t.Errorf("Info.SIMReason %q: want it to say one attempt is left", in.SIMReason)
			}
			var pe *PINError
			if !errors.As(msgErr, &pe) || pe.AttemptsLeft != 1 || !strings.Contains(pe.Reason, "one PIN attempt left") {
				t.Errorf("Messages: %v, want a PINError with 1 try left and the reason", msgErr)
			}
			if st := s.Status(); st.SIM != "SIM PIN" || st.PINLeft != 1 {
				t.Errorf("the SIM is %s with %d tries left, want SIM PIN with 1", st.SIM, st.PINLeft)
			}
		})
	}
}

// The memory of a rejected PIN is a digest of the PIN with the SIM's
// ICCID: another SIM with the same PIN file gets its one try. Where the
// locked SIM gives no ICCID, the digest is of the PIN alone, and said so.
func TestRejectedPINIsKeyedOnTheICCID(t *testing.T) {
	const iccidA, iccidB = "89460100001234567890", "89460100009876543210"
	const noICCID = "the locked SIM gives no ICCID"
	readable := modemsim.WithICCIDWhileLocked()
	tests := []struct {
		name      string
		opts      []modemsim.Option // both SIMs
		iccidB    string
		wantKey   string // the ICCID in the digest
		wantSentB int    // AT+CPIN= sent to the second SIM
		wantWarn  bool
	}{
		{"the same SIM again", []modemsim.Option{readable}, iccidA, iccidA, 0, false},
		{"another SIM", []modemsim.Option{readable}, iccidB, iccidA, 1, false},
		{"no ICCID while locked", nil, iccidB, "", 0, true},
		{"no +CCID, ^ICCID, +ICCID or +CRSM", []modemsim.Option{readable, modemsim.WithoutCommands("+CCID", "^ICCID")},
			iccidB, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			mem := &memory{}
			logs := &logRecorder{}
			file := pinFile(t, "9999")
			a := newSimulator(t, append([]modemsim.Option{modemsim.WithPIN("1234"),
				modemsim.WithIdentity(modemsim.Identity{ICCID: iccidA})}, tt.opts...)...)
			m := openSimulated(t, a, WithPINFile(file), WithMemory(mem), WithLogger(slog.New(logs)))
			if in, err := m.Info(ctx); err != nil || in.SIM != SIMPIN || in.PINAttempts != 2 {
				t.Fatalf("SIM A with a wrong PIN: %+v, %v", in, err)
			}
			m.Close()
			if n := modemsim.Count(a.Commands(), "AT+CPIN="); n != 1 {
				t.Errorf("AT+CPIN= sent %d times to SIM A, want 1", n)
			}
			got := mem.Recall().RejectedPIN
			if got != pinDigest("9999", tt.wantKey) {
				t.Errorf("remembered %q, want the digest of the PIN with ICCID %q", got, tt.wantKey)
			}
			if n := logs.count(noICCID); (n > 0) != tt.wantWarn {
				t.Errorf("%q logged %d times, want it logged: %v", noICCID, n, tt.wantWarn)
			}
			if tt.wantKey == "" {
				// Every way to the ICCID was tried before giving up.
				for _, c := range []string{"AT+CCID", "AT^ICCID?", "AT+ICCID", "AT+CRSM="} {
					if !slices.Contains(a.Commands(), c) {
						t.Errorf("%s never tried; sent %v", c, a.Commands())
					}
				}
			}

			b := newSimulator(t, append([]modemsim.Option{modemsim.WithPIN("9999"),
				modemsim.WithIdentity(modemsim.Identity{ICCID: tt.iccidB})}, tt.opts...)...)
			m = openSimulated(t, b, WithPINFile(file), WithMemory(mem), WithLogger(slog.New(logs)))
			in, err := m.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := modemsim.Count(b.Commands(), "AT+CPIN="); n != tt.wantSentB {
				t.Errorf("AT+CPIN= sent %d times to SIM B, want %d", n, tt.wantSentB)
			}
			if tt.wantSentB == 1 {
				if in.SIM != SIMReady || in.ICCID != tt.iccidB || mem.Recall().RejectedPIN != "" {
					t.Errorf("SIM B after its try: %+v, remembered %q; want ready, the memory cleared", in, mem.Recall().RejectedPIN)
				}
				return
			}
			if in.SIM != SIMPIN || in.PINAttempts != 3 || !strings.Contains(in.SIMReason, "rejected before") {
				t.Errorf("SIM B: %+v; want locked with 3 tries, the PIN not retried", in)
			}
			if mem.Recall().RejectedPIN != got {
				t.Errorf("the memory changed to %q", mem.Recall().RejectedPIN)
			}
		})
	}
}
