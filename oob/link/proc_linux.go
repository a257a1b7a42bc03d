//go:build linux

package link

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// processIdentity reads what identifies pid beyond its number: its start
// time (/proc/PID/stat field 22), process group and argv.
func processIdentity(pid int) (start string, pgrp int, cmdline []string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, nil, err
	}
	st, err := parseStat(b)
	if err != nil {
		return "", 0, nil, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	c, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "", 0, nil, err
	}
	return st.startTime, st.pgrp, splitCmdline(c), nil
}

type procStat struct {
	pgrp      int
	startTime string
}

// parseStat parses /proc/PID/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so the fields
// after it are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("no command name")
	}
	// Fields after the name start at field 3 (state).
	f := strings.Fields(string(b[i+1:]))
	const (
		pgrpField  = 5
		startField = 22
	)
	if len(f) < startField-2 {
		return procStat{}, fmt.Errorf("%d fields, want at least %d", len(f)+2, startField)
	}
	pgrp, err := strconv.Atoi(f[pgrpField-3])
	if err != nil {
		return procStat{}, fmt.Errorf("pgrp: %w", err)
	}
	start := f[startField-3]
	if _, err := strconv.ParseUint(start, 10, 64); err != nil {
		return procStat{}, fmt.Errorf("starttime: %w", err)
	}
	return procStat{pgrp: pgrp, startTime: start}, nil
}

func splitCmdline(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func sameCmdline(recorded, actual []string) bool { return slices.Equal(recorded, actual) }

// signalIfSame sends sig to p, and to its process group when it leads one,
// only if the process holding p.PID is p. A pidfd pins the process between
// the check and the signal, so a PID reused meanwhile is never signalled.
func signalIfSame(p Process, sig syscall.Signal) (bool, error) {
	fd, err := unix.PidfdOpen(p.PID, 0)
	if errors.Is(err, unix.ESRCH) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	start, pgrp, cmd, err := processIdentity(p.PID)
	if err != nil || p.StartTime == "" || start != p.StartTime || !sameCmdline(p.Cmdline, cmd) {
		return false, nil
	}
	if pgrp == p.PID {
		if err := unix.Kill(-p.PID, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return true, err
		}
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return true, err
	}
	return true, nil
}
