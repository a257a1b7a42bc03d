//go:build linux

package agentbench

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/agenttest"
	"github.com/oobd/oobd/modem/modemsim"
)

// BenchmarkIdleModem (row b): an idle `oobd run` (default schedule, +CMTI
// on, no session, no text) against the simulator, through a ptytap that
// counts the bytes on the AT port. Counted over -window after the modem
// has been opened, scaled to an hour.
//
// Metrics: AT/h, bytes/h (both ways), to-modem-B/h, from-modem-B/h,
// polls (+CMGL listings in the window), AT/poll, cpu-ms/h (oobd's run
// time), state-writes/h (state.json replaced). The window's commands are logged by name and count.
func BenchmarkIdleModem(b *testing.B) {
	ctx := runCtx(b, *window+5*time.Minute)
	a := agenttest.StartAgent(ctx, b, agenttest.AgentOptions{
		Bins: bins, Tap: true,
		SimOptions: []modemsim.Option{modemsim.WithBootQuiet(0)},
	})
	if err := a.WaitQuiet(ctx, 2*time.Second); err != nil {
		b.Fatal(err)
	}
	writes := a.WatchStateFile(b)
	var m metrics
	for i := 0; i < b.N; i++ {
		w0 := writes.Count()
		n0 := len(a.Sim.Commands())
		to0, from0 := a.Tap.Bytes()
		cpu0 := cpu(b, a.Proc)
		start := time.Now()
		if i == 0 {
			windowStarts(b)
		}
		sleep(ctx, b, *window)
		d := time.Since(start)
		cmds := a.Sim.Commands()[n0:]
		to1, from1 := a.Tap.Bytes()
		cpu1 := cpu(b, a.Proc)
		if a.Proc.Exited() {
			b.Fatalf("oobd exited:\n%s", a.Proc.Log().Tail(30))
		}
		polls := 0
		for _, c := range cmds {
			if c == "AT+CMGL=" {
				polls++
			}
		}
		b.Logf("%s: %d AT commands in %v: %s", b.Name(), len(cmds), d.Round(time.Second), histogram(cmds))
		m.add("AT/h", perHour(float64(len(cmds)), d))
		m.add("bytes/h", perHour(float64(to1-to0+from1-from0), d))
		m.add("to-modem-B/h", perHour(float64(to1-to0), d))
		m.add("from-modem-B/h", perHour(float64(from1-from0), d))
		m.add("polls", float64(polls))
		if polls > 0 {
			m.add("AT/poll", float64(len(cmds))/float64(polls))
		}
		m.add("cpu-ms/h", perHour(ms(cpu1-cpu0), d))
		m.add("state-writes/h", perHour(float64(writes.Count()-w0), d))
	}
	m.report(b)
}

// BenchmarkIdleLink (row e): a session held idle over the test dialer's
// ppp0, oobd's tunnel (`oobd up`) in one topology and the reference,
// OpenSSH's `ssh -N -R` with ServerAliveInterval = oobd's keepalive, in
// another, side by side; the bytes through each ppp0 (both ways) over
// -window, scaled to an hour. Both jump hosts run the shipped sshd
// settings (ClientAliveInterval 15, ClientAliveCountMax 2).
//
// Metrics: oobd-B/h, ssh-B/h, oobd-rx-B/h, oobd-tx-B/h, ssh-rx-B/h,
// ssh-tx-B/h, the same in packets (-rx-pkt/h, -tx-pkt/h), oobd-cpu-ms/h,
// ssh-cpu-ms/h, oobd-state-writes/h.
func BenchmarkIdleLink(b *testing.B) {
	ctx := runCtx(b, *window+5*time.Minute)
	on := agenttest.NewNet(b)
	a := agenttest.StartAgent(ctx, b, agenttest.AgentOptions{
		Bins: bins, Net: on,
		SimOptions: []modemsim.Option{modemsim.WithBootQuiet(0)},
	})
	if err := a.Up(ctx, 4*time.Hour); err != nil {
		b.Fatalf("%v\n%s", err, a.Proc.Log().Tail(30))
	}
	rn := agenttest.NewNet(b)
	rn.Dial(ctx, b, bins)
	ssh := agenttest.StartProc(b, rn.TP.Agent, rn.Dir+"/ssh.log", nil, append([]string{"ssh"}, rn.RefSSHArgs()...)...)
	if _, err := rn.WaitAnswer(ctx, agenttest.RefPort, 100*time.Millisecond); err != nil {
		b.Fatalf("ssh -R: %v\n%s", err, ssh.Log().Tail(30))
	}
	if err := on.Answers(ctx, agenttest.AgentPort); err != nil {
		b.Fatalf("oobd's forward: %v\n%s", err, a.Proc.Log().Tail(30))
	}
	// Let the probes' connections close and what follows a session's
	// start (the push, the state) pass.
	sleep(ctx, b, 3*time.Second)
	writes := a.WatchStateFile(b)

	type side struct {
		name string
		net  *agenttest.Net
		proc *agenttest.Proc
		port int
	}
	sides := []side{{"oobd", on, a.Proc, agenttest.AgentPort}, {"ssh", rn, ssh, agenttest.RefPort}}
	var m metrics
	for i := 0; i < b.N; i++ {
		type count struct {
			link agenttest.LinkCounts
			cpu  time.Duration
		}
		read := func() []count {
			var c []count
			for _, s := range sides {
				l, err := s.net.LinkCounts("ppp0")
				if err != nil {
					b.Fatalf("%s: %v", s.name, err)
				}
				c = append(c, count{l, cpu(b, s.proc)})
			}
			return c
		}
		before := read()
		w0 := writes.Count()
		start := time.Now()
		if i == 0 {
			windowStarts(b)
		}
		sleep(ctx, b, *window)
		d := time.Since(start)
		after := read()
		m.add("oobd-state-writes/h", perHour(float64(writes.Count()-w0), d))
		for j, s := range sides {
			a, z := after[j].link, before[j].link
			rx, tx := a.RxBytes-z.RxBytes, a.TxBytes-z.TxBytes
			rxp, txp := a.RxPackets-z.RxPackets, a.TxPackets-z.TxPackets
			m.add(s.name+"-B/h", perHour(float64(rx+tx), d))
			m.add(s.name+"-rx-B/h", perHour(float64(rx), d))
			m.add(s.name+"-tx-B/h", perHour(float64(tx), d))
			m.add(s.name+"-rx-pkt/h", perHour(float64(rxp), d))
			m.add(s.name+"-tx-pkt/h", perHour(float64(txp), d))
			m.add(s.name+"-cpu-ms/h", perHour(ms(after[j].cpu-before[j].cpu), d))
			b.Logf("%s: %s: %d B in %d packets received, %d B in %d packets sent on ppp0 in %v",
				b.Name(), s.name, rx, rxp, tx, txp, d.Round(time.Second))
		}
		// Both tunnels held through the window (after it: the probes'
		// bytes are not counted).
		for _, s := range sides {
			if err := s.net.Answers(ctx, s.port); err != nil {
				b.Fatalf("%s's forward is gone after the window: %v\n%s", s.name, err, s.proc.Log().Tail(30))
			}
		}
	}
	m.report(b)
}

func cpu(b *testing.B, p *agenttest.Proc) time.Duration {
	b.Helper()
	d, err := p.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// histogram is "AT+CMGL= ×10, AT+CSQ ×10", the most frequent first.
func histogram(cmds []string) string {
	n := map[string]int{}
	var names []string
	for _, c := range cmds {
		if n[c] == 0 {
			names = append(names, c)
		}
		n[c]++
	}
	slices.SortStableFunc(names, func(x, y string) int { return n[y] - n[x] })
	var parts []string
	for _, c := range names {
		parts = append(parts, fmt.Sprintf("%s ×%d", c, n[c]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
