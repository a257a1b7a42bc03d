package agent

import (
	"context"
	"log/slog"
	"path/filepath"
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

func TestModemThatWillNotOpenIsPowerCycled(t *testing.T) {
	var runs [][]string
	l := newModemLine(filepath.Join(t.TempDir(), "ttyUSB9"), slog.New(slog.DiscardHandler), []string{"uhubctl", "-a", "cycle"})
	l.run = func(ctx context.Context, argv []string) error {
		runs = append(runs, argv)
		return nil
	}
	for i := 1; i <= 20; i++ {
		if _, err := l.Messages(context.Background()); err == nil {
			t.Fatal("a missing port opened")
		}
		want := 0
		switch {
		case i >= 20:
			want = 3
		case i >= 10:
			want = 2
		case i >= 3:
			want = 1
		}
		if len(runs) != want {
			t.Fatalf("after %d failed opens: %d recovery runs, want %d", i, len(runs), want)
		}
	}
	if runs[0][0] != "uhubctl" || l.Stats().PowerCycles != 3 {
		t.Errorf("runs %v, stats %+v", runs, l.Stats())
	}
}
