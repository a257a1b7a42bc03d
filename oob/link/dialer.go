//go:build unix

package link

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// lastLinesKept is how many of the dialer's last output lines an error shows.
const lastLinesKept = 8

// dialer is one run of the up command: a child in its own process group
// whose output goes to the log, line by line.
type dialer struct {
	cmd    *exec.Cmd
	log    *slog.Logger
	exited chan struct{} // closed when the process has been reaped
	read   chan struct{} // closed when its output has been read to the end

	mu    sync.Mutex // guards lines and err
	lines []string   // the last lastLinesKept lines
	err   error      // from Wait
}

func startDialer(argv []string, log *slog.Logger) (*dialer, error) {
	if len(argv) == 0 {
		return nil, errors.New("no up command")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = w, w
	// Its own group, so that stopping it also stops what it started (chat).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	d := &dialer{
		cmd:    cmd,
		log:    log.With("dialer_pid", cmd.Process.Pid),
		exited: make(chan struct{}),
		read:   make(chan struct{}),
	}
	go d.readOutput(r)
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		close(d.exited)
	}()
	return d, nil
}

func (d *dialer) pid() int { return d.cmd.Process.Pid }

func (d *dialer) readOutput(r *os.File) {
	defer close(d.read)
	defer r.Close()
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		d.log.Info("dialer: " + line)
		d.mu.Lock()
		d.lines = append(d.lines, line)
		if len(d.lines) > lastLinesKept {
			d.lines = d.lines[len(d.lines)-lastLinesKept:]
		}
		d.mu.Unlock()
	}
}

// lastLines returns the last output lines, after waiting a little for the
// output of an exited process to be read to the end (a grandchild may keep
// the pipe open, so the wait is bounded).
func (d *dialer) lastLines() []string {
	select {
	case <-d.exited:
		t := time.NewTimer(time.Second)
		select {
		case <-d.read:
		case <-t.C:
		}
		t.Stop()
	default:
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

// status describes how the process ended ("exit status 16", "signal:
// killed"); empty while it runs.
func (d *dialer) status() string {
	select {
	case <-d.exited:
	default:
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ProcessState.String()
	}
	return d.err.Error()
}

// stop sends SIGTERM to the dialer's process group, SIGKILL after grace,
// and waits for the process to be reaped (bounded by ctx). Whatever else
// is left in the group is killed at the end.
func (d *dialer) stop(ctx context.Context, grace time.Duration) error {
	pgid := d.pid()
	select {
	case <-d.exited:
	default:
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("sigterm: %w", err)
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-d.exited:
		case <-t.C:
			d.log.Warn("link: dialer still running after grace period, killing", "grace", grace)
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("sigkill: %w", err)
			}
			select {
			case <-d.exited:
			case <-ctx.Done():
				return fmt.Errorf("waiting for pid %d: %w", pgid, ctx.Err())
			}
		case <-ctx.Done():
			syscall.Kill(-pgid, syscall.SIGKILL)
			return fmt.Errorf("waiting for pid %d: %w", pgid, ctx.Err())
		}
	}
	// The leader is gone; its group may still hold children (chat scripts).
	syscall.Kill(-pgid, syscall.SIGKILL)
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-d.read:
	case <-t.C:
	}
	return nil
}
