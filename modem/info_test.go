package modem

import (
	"errors"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/clock"
	"github.com/oobd/oobd/modem/modemsim"
)

// indicate has the modem send line unprompted, and waits until the Modem
// has heard it: the ping's answer comes after it.
func indicate(t *testing.T, s *modemsim.Simulator, m *Modem, line string) {
	t.Helper()
	s.InjectGarbage([]byte("\r\n" + line + "\r\n"))
	if err := m.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// identityCommands are what Info reads the identity with.
var identityCommands = []string{"AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+CIMI", "AT+CCID"}

// Identity is read once per open, and again after a sign that the SIM
// changed (+CPIN, ^SIMST), not on every Info.
func TestIdentityReadOncePerOpenAndAfterASIMChange(t *testing.T) {
	const newICCID, newIMSI = "89460100009876543210", "240019876543210"
	tests := []struct {
		name  string
		sign  func(t *testing.T, s *modemsim.Simulator, m *Modem)
		again bool // the identity is read again
	}{
		{"no sign", func(t *testing.T, s *modemsim.Simulator, m *Modem) {
			if err := m.Ping(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a signal indication", func(t *testing.T, s *modemsim.Simulator, m *Modem) { indicate(t, s, m, "^RSSI:12") }, false},
		{"+CPIN indication", func(t *testing.T, s *modemsim.Simulator, m *Modem) { indicate(t, s, m, "+CPIN: READY") }, true},
		{"^SIMST indication", func(t *testing.T, s *modemsim.Simulator, m *Modem) { indicate(t, s, m, "^SIMST: 1") }, true},
		{"a re-open", func(t *testing.T, s *modemsim.Simulator, m *Modem) {
			ctx := testCtx(t)
			if err := m.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if err := m.Reacquire(ctx); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t)
			m := openSimulated(t, s)
			ctx := testCtx(t)
			counts := func() map[string]int {
				got := map[string]int{}
				for _, c := range identityCommands {
					got[c] = modemsim.Count(s.Commands(), c)
				}
				return got
			}
			want := func(n int) {
				t.Helper()
				for c, got := range counts() {
					if got != n {
						t.Errorf("%s sent %d times, want %d", c, got, n)
					}
				}
			}
			for i := 0; i < 3; i++ {
				if in, err := m.Info(ctx); err != nil || in.ICCID != modemsim.DefaultIdentity.ICCID {
					t.Fatalf("Info %d: %+v, %v", i+1, in, err)
				}
			}
			want(1)
			s.SetIdentity(modemsim.Identity{ICCID: newICCID, IMSI: newIMSI})
			tt.sign(t, s, m)
			in, err := m.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, iccid, imsi := 1, modemsim.DefaultIdentity.ICCID, modemsim.DefaultIdentity.IMSI
			if tt.again {
				n, iccid, imsi = 2, newICCID, newIMSI
			}
			want(n)
			if in.ICCID != iccid || in.IMSI != imsi {
				t.Errorf("Info after the sign: ICCID %s, IMSI %s; want %s, %s", in.ICCID, in.IMSI, iccid, imsi)
			}
			// The sign is taken once.
			if _, err := m.Info(ctx); err != nil {
				t.Fatal(err)
			}
			want(n)
		})
	}
}

// The settings (+CMEE?, +CMGF?) are checked again after ^BOOT, after a
// command that failed where it should not, and hourly; the operator
// (+COPS?) is read hourly while the registration stays the same.
func TestSettingsAndOperatorChecks(t *testing.T) {
	boot := func(t *testing.T, s *modemsim.Simulator, m *Modem, _ *clock.Fake) {
		indicate(t, s, m, "^BOOT:20786834,0,0,0,72")
	}
	info := func(t *testing.T, m *Modem) {
		t.Helper()
		if _, err := m.Info(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	// failedList is a +CMGL the modem refuses (this one lacks it): a sign
	// that it may have reset without a word.
	failedList := func(t *testing.T, s *modemsim.Simulator, m *Modem, _ *clock.Fake) {
		t.Helper()
		var ae *ATError
		if _, err := m.Messages(testCtx(t)); !errors.As(err, &ae) {
			t.Fatalf("Messages from a modem without +CMGL: %v, want its refusal", err)
		}
	}
	noCMGL := []modemsim.Option{modemsim.WithoutCommands("+CMGL")}
	after := func(d time.Duration) func(*testing.T, *modemsim.Simulator, *Modem, *clock.Fake) {
		return func(_ *testing.T, _ *modemsim.Simulator, _ *Modem, c *clock.Fake) { c.Advance(d) }
	}
	tests := []struct {
		name       string
		opts       []modemsim.Option
		sign       func(t *testing.T, s *modemsim.Simulator, m *Modem, c *clock.Fake)
		wantChecks int // +CMEE? and +CMGF? each, the sign and an Info after it
		wantCOPS   int
	}{
		{"no sign", nil, func(*testing.T, *modemsim.Simulator, *Modem, *clock.Fake) {}, 0, 0},
		{"59 minutes", nil, after(59 * time.Minute), 0, 0},
		{"an hour", nil, after(time.Hour), 1, 1},
		{"^BOOT", nil, boot, 1, 0},
		{"a refused +CMGL", noCMGL, failedList, 1, 0},
		{"^BOOT twice within the hour: chatter", nil, func(t *testing.T, s *modemsim.Simulator, m *Modem, c *clock.Fake) {
			boot(t, s, m, c)
			info(t, m)
			c.Advance(30 * time.Minute)
			boot(t, s, m, c)
		}, 1, 0},
		{"^BOOT after the check of a refused +CMGL", noCMGL, func(t *testing.T, s *modemsim.Simulator, m *Modem, c *clock.Fake) {
			failedList(t, s, m, c)
			boot(t, s, m, c)
		}, 2, 0},
		{"^BOOT after the check of a SIM indication", nil, func(t *testing.T, s *modemsim.Simulator, m *Modem, c *clock.Fake) {
			indicate(t, s, m, "^SIMST: 1")
			info(t, m) // reads everything again, +COPS? among it
			boot(t, s, m, c)
		}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t, tt.opts...)
			clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			m := openSimulated(t, s, func(o *options) { o.now = clk.Now })
			info(t, m) // the first reads everything
			before := len(s.Commands())
			tt.sign(t, s, m, clk)
			info(t, m)
			got := s.Commands()[before:]
			if n := modemsim.Count(got, "AT+CMEE?"); n != tt.wantChecks {
				t.Errorf("AT+CMEE? sent %d times, want %d; sent %v", n, tt.wantChecks, got)
			}
			if n := modemsim.Count(got, "AT+CMGF?"); n != tt.wantChecks {
				t.Errorf("AT+CMGF? sent %d times, want %d", n, tt.wantChecks)
			}
			if n := modemsim.Count(got, "AT+COPS?"); n != tt.wantCOPS {
				t.Errorf("AT+COPS? sent %d times, want %d; sent %v", n, tt.wantCOPS, got)
			}
			if r := m.Stats().Recovery.Reinits; r != 0 {
				t.Errorf("%d re-initialisations of a modem that kept its settings", r)
			}
		})
	}
}
