package schedule

import (
	"log/slog"
	"testing"
	"time"
)

func TestLongest(t *testing.T) {
	from := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC) // a Tuesday
	tests := []struct {
		spec string
		want time.Duration
	}{
		{"@every 1m", time.Minute},
		{"*/5 * * * *", 5 * time.Minute},
		{"0 4 * * *", 24 * time.Hour},
		{"0 4 * * 0", 7 * 24 * time.Hour},  // weekly: the gap after the one run in the window
		{"0,10 * * * *", 50 * time.Minute}, // uneven gaps: the longer one
		{"0 9-17 * * *", 16 * time.Hour},   // office hours: the night is the gap
		{"0 4 * * 1-5", 24 * time.Hour},    // weekdays, from a Tuesday: the weekend is not in the window
		{"@hourly", time.Hour},
	}
	for _, tt := range tests {
		got, err := Longest(tt.spec, from, 24*time.Hour)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got != tt.want {
			t.Errorf("Longest(%q) = %v, want %v", tt.spec, got, tt.want)
		}
	}
	if _, err := Longest("every minute", from, time.Hour); err == nil {
		t.Error("a bad spec parsed")
	}
}

func TestPanicIsSurvivedAndRunsNeverOverlap(t *testing.T) {
	runs := make(chan int, 10)
	n := 0
	s, err := Start("@every 1s", func() {
		n++
		runs <- n
		if n == 1 {
			panic("boom")
		}
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for want := 1; want <= 2; want++ {
		select {
		case got := <-runs:
			if got != want {
				t.Fatalf("run %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d never came: a panic stopped the schedule", want)
		}
	}
}
