package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// The forwards' JSON names are read by scripts (`oobd status --json`) and
// by the next run (state.json): they never change.
func TestForwardJSONNamesArePinned(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var st State
	st.Session = Session{Active: true, Started: now, Forwards: []tunnel.BoundForward{
		{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}, BoundPort: 40001},
	}}
	want := `"forwards":[{"remote":"localhost:0","local":"localhost:22","bound_port":40001}]`
	for name, v := range map[string]any{"state.json": st, "status --json": st.Status(now)} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s: want %s in\n%s", name, want, b)
		}
	}
}
