//go:build linux

package agentbench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/agenttest"
	"github.com/oobd/oobd/modem/modemsim"
)

// probeEvery is how often the jump host's end of a forward is tried.
const probeEvery = 10 * time.Millisecond

// BenchmarkTrigger (row a): the owner's text is stored on the SIM (the
// simulator's Deliver returns); how long until oobd starts the dialer,
// and until the forward answers on the jump host (the box's SSH banner
// read from inside the jump namespace). A fast modem and one whose every
// final result code comes 300 ms late; a single-port modem (the port is
// closed before the dialer) and a two-port one.
//
// Metrics: ms-to-dialer, ms-to-forward, AT-cmds (the commands the modem
// was sent between the text and the dialer, also logged by name), and
// ms-floor: the simulator's delay times the two round trips the work
// needs (+CMGL, +CMGD), below which no agent can start the dialer.
func BenchmarkTrigger(b *testing.B) {
	for _, delay := range []time.Duration{0, 300 * time.Millisecond} {
		for _, ports := range []int{1, 2} {
			b.Run(fmt.Sprintf("delay=%v/ports=%d", delay, ports), func(b *testing.B) {
				benchTrigger(b, delay, ports == 2)
			})
		}
	}
}

func benchTrigger(b *testing.B, delay time.Duration, twoPort bool) {
	ctx := runCtx(b, 10*time.Minute)
	n := agenttest.NewNet(b)
	a := agenttest.StartAgent(ctx, b, agenttest.AgentOptions{
		Bins: bins, Net: n, DataPort: twoPort, StampDialer: true,
		SimOptions: []modemsim.Option{modemsim.WithBootQuiet(0)},
	})
	a.Sim.SetDelay(delay)
	// Whatever the modem answers, a poll is over once it has been quiet
	// for a few of its round trips.
	quiet := time.Second + 3*delay
	var m metrics
	for i := 0; i < b.N; i++ {
		if err := a.WaitQuiet(ctx, quiet); err != nil {
			b.Fatal(err)
		}
		before := len(a.Sim.Commands())
		if _, err := a.Sim.Deliver(agenttest.Owner, agenttest.Secret); err != nil {
			b.Fatalf("deliver: %v", err)
		}
		stored := time.Now()
		var started agenttest.DialerStart
		select {
		case started = <-a.DialerStarts():
		case <-ctx.Done():
			b.Fatalf("no dialer: %v\n%s", ctx.Err(), a.Proc.Log().Tail(30))
		}
		answered, err := n.WaitAnswer(ctx, agenttest.AgentPort, probeEvery)
		if err != nil {
			b.Fatalf("the forward never answered: %v\n%s", err, a.Proc.Log().Tail(30))
		}
		cmds := a.Sim.Commands()[before:started.Commands]
		b.Logf("%s: AT between text and dialer: %s", b.Name(), strings.Join(cmds, " "))
		m.add("ms-to-dialer", ms(started.At.Sub(stored)))
		m.add("ms-to-forward", ms(answered.Sub(stored)))
		m.add("AT-cmds", float64(len(cmds)))
		m.add("ms-floor", ms(2*delay))
		if i+1 < b.N {
			endSession(ctx, b, a, n)
		}
	}
	m.report(b)
}

// endSession takes the session down and waits until the link is gone.
func endSession(ctx context.Context, b *testing.B, a *agenttest.Agent, n *agenttest.Net) {
	b.Helper()
	if err := a.Down(ctx); err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := n.LinkCounts("ppp0"); err != nil {
			return
		}
		sleep(ctx, b, 50*time.Millisecond)
	}
}
