package modem

import (
	"strings"
	"testing"

	"github.com/oobd/oobd/modem/modemsim"
)

// A modem back in text mode behind the Modem's back (a reset that said
// nothing and came up in text mode) refuses +CMGL=4: a failed command,
// which has the settings checked, PDU mode restored, and the texts read.
func TestListingInTheWrongModeRestoresPDUMode(t *testing.T) {
	tests := []struct {
		name        string
		indications bool
		texts       []string
	}{
		{"nothing stored", false, nil},
		{"two texts", false, []string{"first", "second"}},
		{"two texts, with indications", true, []string{"first", "second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t)
			m := openSimulated(t, s, WithIndications(tt.indications))
			ctx := testCtx(t)
			for _, text := range tt.texts {
				if _, err := s.Deliver("+46701234567", text); err != nil {
					t.Fatal(err)
				}
			}
			// The modem reverts to text mode and to no indications, and
			// says nothing.
			if err := m.do(ctx, func(*atConn) error {
				_, err := m.command(ctx, "+CMGF=1;+CNMI=0,0", m.o.cmdTimeout)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			before := len(s.Commands())
			msgs, err := m.Messages(ctx)
			if err != nil {
				t.Fatalf("Messages: %v", err)
			}
			got := s.Commands()[before:]
			for c, want := range map[string]int{"AT+CMGL=": 2, "AT+CMGF?": 1, "ATZ": 1, "AT+CMGF=": 1} {
				if n := modemsim.Count(got, c); n != want {
					t.Errorf("%s sent %d times, want %d; sent %v", c, n, want, got)
				}
			}
			if st := m.Stats(); st.Recovery.Reinits != 1 || !strings.Contains(st.LastError, "AT+CMGL=4") {
				t.Errorf("stats %+v: want one re-initialisation, the refused +CMGL the last error", st)
			}
			cnmi := [2]int{0, 0}
			if tt.indications {
				cnmi = [2]int{2, 1}
			}
			if st := s.Status(); st.CMGF != 0 || st.CMEE != 2 || st.CNMI != cnmi {
				t.Errorf("modem after Messages: %+v; want PDU mode, +CMEE=2, +CNMI %v", st, cnmi)
			}
			if len(msgs) != len(tt.texts) {
				t.Fatalf("got %d messages, want %d: %+v", len(msgs), len(tt.texts), msgs)
			}
			for i, msg := range msgs {
				if msg.Text != tt.texts[i] || msg.Sender != "+46701234567" || msg.Problem != "" {
					t.Errorf("message %d: %+v, want %q from +46701234567", i, msg, tt.texts[i])
				}
			}
			// The next listing is one command again.
			before = len(s.Commands())
			if _, err := m.Messages(ctx); err != nil {
				t.Fatal(err)
			}
			if got := s.Commands()[before:]; len(got) != 1 || got[0] != "AT+CMGL=" {
				t.Errorf("the next listing sent %v, want only AT+CMGL=", got)
			}
		})
	}
}
