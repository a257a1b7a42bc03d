//go:build freebsd

package link

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// processIdentity asks ps(1) for pid's start time, process group and
// command line. ps prints argv joined by spaces, so the command line is
// compared as that string (see sameCmdline).
func processIdentity(pid int) (start string, pgrp int, cmdline []string, err error) {
	p := strconv.Itoa(pid)
	out, err := exec.Command("ps", "-ww", "-p", p, "-o", "pgid=", "-o", "lstart=").Output()
	if err != nil {
		return "", 0, nil, fmt.Errorf("ps -p %d: %w", pid, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", 0, nil, fmt.Errorf("ps -p %d: %q", pid, out)
	}
	pgrp, err = strconv.Atoi(f[0])
	if err != nil {
		return "", 0, nil, fmt.Errorf("ps -p %d: pgid: %w", pid, err)
	}
	start = strings.Join(f[1:], " ")
	args, err := exec.Command("ps", "-ww", "-p", p, "-o", "args=").Output()
	if err != nil {
		return "", 0, nil, fmt.Errorf("ps -p %d: %w", pid, err)
	}
	return start, pgrp, strings.Fields(string(args)), nil
}

// sameCmdline compares argv as ps(1) shows it: joined by spaces.
func sameCmdline(recorded, actual []string) bool {
	return strings.Join(strings.Fields(strings.Join(recorded, " ")), " ") == strings.Join(actual, " ")
}

// signalIfSame sends sig to p, and to its process group when it leads one,
// only if the process holding p.PID is p. (FreeBSD has no pidfd here: a PID
// reused in the instant between check and signal is not excluded.)
func signalIfSame(p Process, sig syscall.Signal) (bool, error) {
	start, pgrp, cmd, err := processIdentity(p.PID)
	if err != nil || p.StartTime == "" || start != p.StartTime || !sameCmdline(p.Cmdline, cmd) {
		return false, nil
	}
	target := p.PID
	if pgrp == p.PID {
		target = -p.PID
	}
	if err := syscall.Kill(target, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, err
	}
	return true, nil
}
