//go:build linux

package agenttest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/ptytap"
	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/modem/modemsim"
	"golang.org/x/crypto/ssh/knownhosts"
)

// AgentOptions is what one world changes in the agent.
type AgentOptions struct {
	Bins Binaries
	// Net is where sessions go; nil runs oobd in this namespace with a
	// jump host that is never dialled (an idle daemon).
	Net *Net
	// DataPort makes a two-port modem: modem.data_port is set (oobd never
	// opens it), so the AT port stays oobd's during a session.
	DataPort bool
	// Tap puts a ptytap (Agent.Tap) between oobd and the simulator, to
	// count the bytes on the AT port.
	Tap bool
	// StampDialer runs the dialer through a wrapper that reports its start
	// on Agent.DialerStarts before it becomes the test dialer.
	StampDialer bool
	SimOptions  []modemsim.Option
	// LogLevel is oobd's --log-level ("" for its default, info).
	LogLevel string
}

// Agent is a running `oobd run` and its simulated modem.
type Agent struct {
	Sim      *modemsim.Simulator
	Tap      *ptytap.Tap // with AgentOptions.Tap
	Proc     *Proc
	Config   string
	StateDir string
	bins     Binaries
	starts   chan DialerStart
}

// DialerStart is one start of the dialer, as the harness heard of it.
type DialerStart struct {
	At time.Time
	// Commands is len(Sim.Commands()) at that moment: what the modem had
	// been sent before the dialer ran.
	Commands int
}

// StartAgent starts the simulator and `oobd run` with production defaults
// (the poll schedule, +CMTI, the keepalive, the command timeout) and waits
// until oobd says it is running. Everything is stopped when the test ends,
// oobd first.
func StartAgent(ctx context.Context, tb testing.TB, o AgentOptions) *Agent {
	tb.Helper()
	dir := tb.TempDir()
	a := &Agent{bins: o.Bins, StateDir: filepath.Join(dir, "state")}
	if err := os.Mkdir(a.StateDir, 0o700); err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	var err error
	a.Sim, err = modemsim.New(o.SimOptions...)
	if err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	tb.Cleanup(func() { a.Sim.Close() })
	port := a.Sim.Path()
	if o.Tap {
		a.Tap, err = ptytap.New(a.Sim.Path())
		if err != nil {
			tb.Fatalf("agenttest: %v", err)
		}
		tb.Cleanup(func() { a.Tap.Close() })
		port = a.Tap.Path()
	}

	up := []string{"/bin/false"} // never run without a network
	jumpHost, user, key, kh, ns := "jump.invalid:22", "oob", "", "", ""
	if o.Net != nil {
		up = []string{o.Bins.FakePPP, "-jump-netns", o.Net.TP.JumpNetnsPath()}
		jumpHost, user, key, kh, ns = o.Net.JumpHost(), o.Net.Jump.User, o.Net.AgentKey, o.Net.KnownHosts, o.Net.TP.Agent
	} else {
		_, key = sshdtest.GenerateKey(tb, dir, "id_agent", "ed25519", "")
		other, _ := sshdtest.GenerateKey(tb, dir, "jump_host_key", "ed25519", "")
		kh = sshdtest.WriteFile(tb, dir, "known_hosts", knownhosts.Line([]string{"jump.invalid"}, other)+"\n")
	}
	if o.StampDialer {
		up[0] = a.stampDialer(tb, dir, up[0])
	}
	dataPort := ""
	if o.DataPort {
		dataPort = sshdtest.WriteFile(tb, dir, "ttyDATA", "")
	}
	secret := sshdtest.WriteFile(tb, dir, "secret", Secret+"\n")
	cfg := fmt.Sprintf(`state_dir: %s
modem:
  port: %s
  data_port: %q
trigger:
  urc: true
  senders: [%q]
  secret_file: %s
link:
  up_command: %s
  interface: ppp0
  attempts: 2
  up_timeout: 20s
session:
  max_duration: 4h
tunnel:
  jump_host: %s
  user: %s
  identity_file: %s
  known_hosts: %s
  forwards:
    - remote: localhost:%d
      local: 127.0.0.1:%d
`, a.StateDir, port, dataPort, Owner, secret, YAMLList(up), jumpHost, user, key, kh, AgentPort, BoxPort)
	a.Config = sshdtest.WriteFile(tb, dir, "oobd.yaml", cfg)

	argv := []string{o.Bins.OOBD, "run", "--config", a.Config}
	if o.LogLevel != "" {
		argv = append(argv, "--log-level", o.LogLevel)
	}
	a.Proc = StartProc(tb, ns, filepath.Join(dir, "oobd.log"), nil, argv...)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := a.Proc.Log().Wait(ctx, "oobd running", 1); err != nil {
		tb.Fatalf("agenttest: oobd did not start: %v\n%s", err, a.Proc.Log().Tail(30))
	}
	return a
}

// stampDialer writes a wrapper around dialer that tells the harness it
// started (a line on a FIFO that the harness holds open), then execs the
// dialer in place (same pid, same start time, as oobd records them).
func (a *Agent) stampDialer(tb testing.TB, dir, dialer string) string {
	tb.Helper()
	fifo := filepath.Join(dir, "dialer.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		tb.Fatalf("agenttest: mkfifo: %v", err)
	}
	// Read and write, so that the wrapper's open never blocks and Close
	// ends the reader (a FIFO is on the runtime poller).
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	a.starts = make(chan DialerStart, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			s := DialerStart{At: time.Now(), Commands: len(a.Sim.Commands())}
			select {
			case a.starts <- s:
			default:
			}
		}
	}()
	tb.Cleanup(func() {
		f.Close()
		<-done
	})
	script := fmt.Sprintf("#!/bin/sh\n# The bench's dialer: say so, then become %s.\necho \"$$\" >'%s'\nexec '%s' \"$@\"\n",
		filepath.Base(dialer), fifo, dialer)
	path := filepath.Join(dir, "dialer.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	return path
}

// DialerStarts reports each start of the dialer (with StampDialer).
func (a *Agent) DialerStarts() <-chan DialerStart { return a.starts }

// Up asks the daemon for a session (`oobd up --for d`) and returns once
// its self-check has passed.
func (a *Agent) Up(ctx context.Context, d time.Duration) error {
	return a.ctl(ctx, "up", "--for", d.String())
}

// Down ends the session (`oobd down`).
func (a *Agent) Down(ctx context.Context) error { return a.ctl(ctx, "down") }

func (a *Agent) ctl(ctx context.Context, args ...string) error {
	args = append(args, "--config", a.Config)
	out, err := exec.CommandContext(ctx, a.bins.OOBD, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("agenttest: oobd %s: %w: %s", args[0], err, out)
	}
	return nil
}

// WaitQuiet waits until the simulator has been sent no command for quiet:
// the agent is done opening the modem, or done with a poll.
func (a *Agent) WaitQuiet(ctx context.Context, quiet time.Duration) error {
	n, since := len(a.Sim.Commands()), time.Now()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for time.Since(since) < quiet {
		select {
		case <-ctx.Done():
			return fmt.Errorf("agenttest: modem never quiet for %v: %w", quiet, ctx.Err())
		case <-t.C:
		}
		if m := len(a.Sim.Commands()); m != n {
			n, since = m, time.Now()
		}
	}
	return nil
}

// YAMLList is args as a YAML flow list of quoted strings (an up_command).
func YAMLList(args []string) string {
	q := make([]string, len(args))
	for i, s := range args {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
