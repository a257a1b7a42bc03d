// Command samplescrape prints one scrape of oobd's /metrics with every
// part filled in, for CI to pipe through `promtool check metrics` and for
// the documentation.
package main

import (
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"time"

	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/metrics"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "samplescrape:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	now := time.Now()
	snap := metrics.Snapshot{
		Health: health.Input{
			Started: now.Add(-72 * time.Hour),
			Modem:   health.Modem{Answering: true, Since: now.Add(-72 * time.Hour)},
			SIM:     health.SIM{State: "ready", PINAttempts: 3},
			Network: health.Network{Registration: "home", Operator: "Example Tel", SignalDBm: -73, SignalKnown: true},
			Poll:    health.Poll{Last: now.Add(-20 * time.Second), LongestGap: time.Minute},
			Storage: health.Storage{Used: 2, Total: 30},
			Console: health.Console{Configured: true, Open: true, Since: now.Add(-72 * time.Hour)},
			Drill: health.Drill{Configured: true, Period: 24 * time.Hour, Last: now.Add(-5 * time.Hour), OK: true,
				Steps: []health.DrillStep{
					{Name: "dial", Duration: 12 * time.Second}, {Name: "path", Duration: 800 * time.Millisecond},
					{Name: "tunnel", Duration: 2100 * time.Millisecond}, {Name: "self-check", Duration: 600 * time.Millisecond},
					{Name: "push", Duration: 1200 * time.Millisecond},
				}},
		},
		Modem: metrics.ModemCounters{Timeouts: 4, Reopens: 2, Resets: 1},
	}
	m, err := metrics.New(metrics.Config{Version: "v0.0.0-sample", Source: func() metrics.Snapshot { return snap }})
	if err != nil {
		return err
	}
	m.Poll("ok")
	m.Text("accepted")
	m.Text("unknown-sender")
	m.Dial("ok")
	m.Session("sms", "up", 0)
	m.LinkBytes(1_200_000, 340_000)
	m.Session("sms", "expired", time.Hour)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		return fmt.Errorf("scrape: %d %s", rec.Code, rec.Body)
	}
	_, err = w.Write(rec.Body.Bytes())
	return err
}
