//go:build linux

package agentbench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/agenttest"
	"github.com/oobd/oobd/modem/modemsim"
)

// BenchmarkSSHDRestart (row d): oobd's session and, beside it in the same
// agent namespace and over the same ppp0, autossh (-M 0, ServerAlive-
// Interval = oobd's keepalive, ServerAliveCountMax 3) holding a forward
// to the same jump host. After -hold, the jump host's sshd is killed
// (SIGKILL, the listener and every session) and started again on the same
// port; the seconds from the kill until each forward answers again.
//
// Metrics: oobd-s, autossh-s, and sshd-s (until the new sshd listened:
// the floor for both).
func BenchmarkSSHDRestart(b *testing.B) {
	ctx := runCtx(b, time.Duration(b.N)*(*hold+6*time.Minute))
	n := agenttest.NewNet(b)
	a := agenttest.StartAgent(ctx, b, agenttest.AgentOptions{
		Bins: bins, Net: n,
		SimOptions: []modemsim.Option{modemsim.WithBootQuiet(0)},
	})
	if err := a.Up(ctx, 4*time.Hour); err != nil {
		b.Fatalf("%v\n%s", err, a.Proc.Log().Tail(30))
	}
	env := []string{"AUTOSSH_LOGFILE=" + filepath.Join(n.Dir, "autossh.log"), "AUTOSSH_DEBUG=1"}
	if *gateTime != "" {
		env = append(env, "AUTOSSH_GATETIME="+*gateTime)
	}
	auto := agenttest.StartProc(b, n.TP.Agent, filepath.Join(n.Dir, "autossh.out"), env,
		append([]string{"autossh", "-M", "0"}, n.RefSSHArgs()...)...)
	if _, err := n.WaitAnswer(ctx, agenttest.RefPort, 100*time.Millisecond); err != nil {
		b.Fatalf("autossh: %v\n%s", err, auto.Log().Tail(30))
	}
	var m metrics
	for i := 0; i < b.N; i++ {
		for _, p := range []int{agenttest.AgentPort, agenttest.RefPort} {
			if err := n.Answers(ctx, p); err != nil {
				b.Fatalf("before the kill: %v", err)
			}
		}
		sleep(ctx, b, *hold)
		killed := time.Now()
		n.Jump.Restart()
		listening := time.Now()
		type back struct {
			port int
			at   time.Time
			err  error
		}
		backs := make(chan back, 2)
		for _, p := range []int{agenttest.AgentPort, agenttest.RefPort} {
			go func() {
				at, err := n.WaitAnswer(ctx, p, 20*time.Millisecond)
				backs <- back{p, at, err}
			}()
		}
		for range 2 {
			r := <-backs
			if r.err != nil {
				b.Fatalf("forward %d never answered again: %v\noobd:\n%s\nautossh:\n%s", r.port, r.err,
					a.Proc.Log().Tail(20), auto.Log().Tail(20))
			}
			name := "oobd-s"
			if r.port == agenttest.RefPort {
				name = "autossh-s"
			}
			m.add(name, r.at.Sub(killed).Seconds())
		}
		m.add("sshd-s", listening.Sub(killed).Seconds())
		b.Logf("%s: sshd killed, listening again after %v", b.Name(), listening.Sub(killed).Round(time.Millisecond))
	}
	m.report(b)
}
