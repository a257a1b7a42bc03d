//go:build linux

package link

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// The real OS's process list and group signal; no root needed.
func TestLinuxProcessesAndSignalGroup(t *testing.T) {
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid

	sys := newOSLink()
	procs, err := sys.processes()
	if err != nil {
		t.Fatal(err)
	}
	var child, self *procInfo
	for i := range procs {
		switch procs[i].pid {
		case pid:
			child = &procs[i]
		case os.Getpid():
			self = &procs[i]
		}
	}
	if self == nil || child == nil {
		t.Fatalf("own PID or the child's not listed among %d processes", len(procs))
	}
	if child.pgid != pid || child.zombie {
		t.Errorf("child %+v, want its own group, running", *child)
	}
	if _, err := strconv.ParseUint(child.start, 10, 64); err != nil || child.start == "0" {
		t.Errorf("start time %q", child.start)
	}

	// A lead with another start time is not signalled, nor its group.
	wrong := *child
	wrong.start += "1"
	if sent, err := sys.signalGroup(pid, &wrong, syscall.SIGTERM); sent || err != nil {
		t.Fatalf("signalGroup with a wrong start time = %v, %v", sent, err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the child was signalled: %v", err)
	}
	if sent, err := sys.signalGroup(pid, child, syscall.SIGTERM); !sent || err != nil {
		t.Fatalf("signalGroup = %v, %v", sent, err)
	}
	if err := cmd.Wait(); err == nil || err.Error() != "signal: terminated" {
		t.Errorf("child ended with %v, want SIGTERM", err)
	}
	// A group already gone is no error.
	if _, err := sys.signalGroup(pid, nil, syscall.SIGKILL); err != nil {
		t.Errorf("signalling a group gone: %v", err)
	}
}
