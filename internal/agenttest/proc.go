//go:build linux

package agenttest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a process a world started: oobd, a reference client, a dialer.
type Proc struct {
	LogPath string
	cmd     *exec.Cmd
	log     *LogWatch
	done    chan struct{}
}

// StartProc runs argv inside network namespace ns ("" for this one), with
// extra environment env, its output in logPath, in its own process group.
// The process is stopped when the test ends.
func StartProc(tb testing.TB, ns, logPath string, env []string, argv ...string) *Proc {
	tb.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	if ns != "" {
		// ip execs argv in place, so the pid and the signals are argv's own.
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	p := &Proc{LogPath: logPath, log: &LogWatch{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = io.MultiWriter(f, p.log)
	p.cmd.Stderr = p.cmd.Stdout
	// Its own group: a Ctrl-C on the terminal reaches the harness, which
	// stops it in order, rather than everything at once.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		tb.Fatalf("agenttest: start %s: %v", argv[0], err)
	}
	go func() {
		p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	tb.Cleanup(func() { p.Stop(15 * time.Second) })
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Log is what the process has written so far, stdout and stderr.
func (p *Proc) Log() *LogWatch { return p.log }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to d for the process to exit and returns its exit code.
func (p *Proc) Wait(d time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(d):
		return -1, fmt.Errorf("agenttest: %s still running after %v", p.cmd.Path, d)
	}
}

// Stop ends the process if it still runs: SIGTERM, then SIGKILL to its
// whole group after grace.
func (p *Proc) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if _, err := p.Wait(grace); err != nil {
		syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.done
	}
}

// CPU is the processor time the process has used: the scheduler's run
// time of each of its threads (/proc/PID/task/*/schedstat, in
// nanoseconds), or, where that cannot be read, utime+stime from
// /proc/PID/stat (sampled in 10 ms ticks: too coarse for an idle
// process). A thread that exited takes its schedstat time with it; Go
// and OpenSSH keep theirs.
func (p *Proc) CPU() (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d", p.Pid())
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, fmt.Errorf("agenttest: cpu: %w", err)
	}
	// Fields after the command name (in parentheses, which may hold
	// spaces): utime and stime are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	var f []string
	if i >= 0 {
		f = strings.Fields(string(b[i+1:]))
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("agenttest: cpu: cannot parse %s/stat", dir)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("agenttest: cpu: %s/stat: %q %q", dir, f[11], f[12])
	}
	// USER_HZ is 100 on every Linux this runs on.
	ticks := time.Duration(utime+stime) * 10 * time.Millisecond
	tasks, _ := filepath.Glob(dir + "/task/*/schedstat")
	var run time.Duration
	read := 0
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread just ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				run += time.Duration(ns)
				read++
			}
		}
	}
	if read == 0 {
		return ticks, nil
	}
	return run, nil
}

// LogWatch collects a process's output and wakes those waiting for a line.
type LogWatch struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (l *LogWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return len(p), nil
}

func (l *LogWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count is how many lines contain substr.
func (l *LogWatch) Count(substr string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			n++
		}
	}
	return n
}

// Wait waits until at least n lines contain substr.
func (l *LogWatch) Wait(ctx context.Context, substr string, n int) error {
	for {
		l.mu.Lock()
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		if l.Count(substr) >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("agenttest: waiting for %d lines with %q: %w", n, substr, ctx.Err())
		}
	}
}

// Tail is the last n lines.
func (l *LogWatch) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
