package agent

import (
	"testing"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/state"
)

func TestInboxStoreAddsModemTroubleAndWarnsOnce(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var stats modem.Stats
	var warned []int
	w := &inboxStore{Store: st, stats: func() modem.Stats { return stats },
		onWarn: func(used, total int) { warned = append(warned, used) }}
	steps := []struct {
		timeouts, reopens int
		warning           string
	}{
		{3, 0, ""},
		{5, 1, "storage 25/30"}, // the warning is raised: one push
		{5, 1, "storage 26/30"}, // still raised: no second push
		{1, 0, ""},              // a re-opened modem counts from 0 again
	}
	for _, s := range steps {
		stats.Timeouts, stats.Reopens = s.timeouts, s.reopens
		if err := w.Update(func(st *state.State) {
			st.Modem.StorageWarning = s.warning
			st.Modem.StorageUsed = 25
		}); err != nil {
			t.Fatal(err)
		}
	}
	got := st.Snapshot().Modem.Recovery
	if got.Timeouts != 6 || got.Reopens != 1 {
		t.Errorf("recovery = %+v, want 6 timeouts (3+2+1) and 1 re-open", got)
	}
	if len(warned) != 1 {
		t.Errorf("storage warnings pushed %d times, want once", len(warned))
	}
}
