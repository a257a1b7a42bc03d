//go:build linux

package agentbench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/agenttest"
)

var (
	oobdBin    = flag.String("oobd", "", "a built oobd `binary` (default: build one)")
	fakepppBin = flag.String("fakeppp", "", "a built fakeppp `binary` (default: build one)")
	window     = flag.Duration("window", 10*time.Minute, "how long the idle benchmarks count (the figures are scaled to an hour)")
	hold       = flag.Duration("hold", 35*time.Second, "how long the tunnels are up before the jump host's sshd is killed")
	gateTime   = flag.String("autossh-gatetime", "", "AUTOSSH_GATETIME for the reference (empty: autossh's default, 30 s)")
	readyFile  = flag.String("ready", "", "a `file` to which each idle benchmark appends a line when its window starts")
)

// bins are the binaries every world runs; interrupted ends when the run
// is stopped (SIGINT, SIGTERM), so that a benchmark fails and its
// cleanups tear the worlds down.
var (
	bins        agenttest.Binaries
	interrupted context.Context
)

func TestMain(m *testing.M) {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	interrupted = ctx
	code := func() int {
		defer stop()
		bins = agenttest.Binaries{OOBD: *oobdBin, FakePPP: *fakepppBin}
		// `go test ./...` runs no benchmark here: build nothing then.
		benching := flag.Lookup("test.bench").Value.String() != ""
		if benching && (bins.OOBD == "" || bins.FakePPP == "") {
			dir, err := os.MkdirTemp("", "oobd-agentbench")
			if err != nil {
				fmt.Fprintln(os.Stderr, "agentbench:", err)
				return 1
			}
			defer os.RemoveAll(dir)
			if bins, err = agenttest.Build(ctx, dir); err != nil {
				fmt.Fprintln(os.Stderr, "agentbench:", err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// runCtx is the context a benchmark waits under: it ends with the run
// (Ctrl-C) or after limit.
func runCtx(b *testing.B, limit time.Duration) context.Context {
	b.Helper()
	if interrupted.Err() != nil {
		b.Fatal("agentbench: interrupted")
	}
	ctx, cancel := context.WithTimeout(interrupted, limit)
	b.Cleanup(cancel)
	return ctx
}

// sleep waits for d, or fails the benchmark if the run is stopped first.
func sleep(ctx context.Context, b *testing.B, d time.Duration) {
	b.Helper()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		b.Fatalf("agentbench: %v", ctx.Err())
	}
}

// metrics collects one value per iteration for each unit and reports
// their medians.
type metrics struct {
	order []string
	vals  map[string][]float64
}

func (m *metrics) add(unit string, v float64) {
	if m.vals == nil {
		m.vals = map[string][]float64{}
	}
	if _, ok := m.vals[unit]; !ok {
		m.order = append(m.order, unit)
	}
	m.vals[unit] = append(m.vals[unit], v)
}

func (m *metrics) report(b *testing.B) {
	// An operation is a whole scenario: its wall time says nothing.
	b.ReportMetric(0, "ns/op")
	for _, u := range m.order {
		b.ReportMetric(median(m.vals[u]), u)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perHour scales a count over d to an hour.
func perHour(n float64, d time.Duration) float64 { return n * float64(time.Hour) / float64(d) }

// windowStarts tells -ready that an idle window has begun, so that a
// script can hold back timed benchmarks until every world is set up.
func windowStarts(b *testing.B) {
	b.Helper()
	if *readyFile == "" {
		return
	}
	f, err := os.OpenFile(*readyFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = fmt.Fprintln(f, b.Name())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		b.Fatalf("agentbench: -ready: %v", err)
	}
}
