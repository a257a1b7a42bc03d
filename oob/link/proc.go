package link

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type procStat struct {
	pid       int
	state     byte
	pgrp      int
	startTime string
}

// parseStat parses Linux's /proc/PID/stat. The command name (field 2) is
// in parentheses and may itself contain spaces and parentheses, so the
// fields after it are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	i := bytes.LastIndexByte(b, ')')
	if open < 0 || i < open {
		return procStat{}, fmt.Errorf("no command name")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return procStat{}, fmt.Errorf("pid: %w", err)
	}
	// Fields after the name start at field 3 (state).
	f := strings.Fields(string(b[i+1:]))
	const (
		stateField = 3
		pgrpField  = 5
		startField = 22
	)
	if len(f) < startField-2 {
		return procStat{}, fmt.Errorf("%d fields, want at least %d", len(f)+2, startField)
	}
	if len(f[stateField-3]) != 1 {
		return procStat{}, fmt.Errorf("state %q", f[stateField-3])
	}
	pgrp, err := strconv.Atoi(f[pgrpField-3])
	if err != nil {
		return procStat{}, fmt.Errorf("pgrp: %w", err)
	}
	start := f[startField-3]
	if _, err := strconv.ParseUint(start, 10, 64); err != nil {
		return procStat{}, fmt.Errorf("starttime: %w", err)
	}
	return procStat{pid: pid, state: f[stateField-3][0], pgrp: pgrp, startTime: start}, nil
}

// info is the process as the link compares it; Linux's Z (zombie) and X
// (dead) run nothing.
func (s procStat) info() procInfo {
	return procInfo{pid: s.pid, pgid: s.pgrp, start: s.startTime, zombie: s.state == 'Z' || s.state == 'X'}
}

// psArgs asks FreeBSD's ps(1) for every process's PID, process group,
// state and start time, without headers. Run it with toolEnv, so that
// lstart ("%c" of strftime) reads the same whoever runs it.
func psArgs() []string {
	return []string{"-ax", "-o", "pid=", "-o", "pgid=", "-o", "state=", "-o", "lstart="}
}

// toolEnv is the environment the base system's tools run in: a fixed
// locale and time zone, so that their output reads the same whoever
// starts the agent.
func toolEnv() []string { return []string{"LC_ALL=C", "TZ=UTC", "PATH=/sbin:/bin:/usr/sbin:/usr/bin"} }

// psLstart is lstart in the C locale: "%a %b %e %H:%M:%S %Y", the day
// padded with a space ("Mon Dec  1 02:05:26 2026").
const psLstart = "Mon Jan _2 15:04:05 2006"

// parsePS reads the output of `ps psArgs...`. The start time becomes RFC
// 3339 in UTC; a process ps cannot see into has "-" and no start time. A
// line it cannot read fails the whole list: a process missed is a process
// taken for gone.
func parsePS(out []byte) ([]procInfo, error) {
	var ps []procInfo
	s := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; s.Scan(); n++ {
		f := strings.Fields(s.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 {
			return nil, fmt.Errorf("ps line %d: %q", n, s.Text())
		}
		pid, err1 := strconv.Atoi(f[0])
		pgid, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || pid < 0 || pgid < 0 {
			return nil, fmt.Errorf("ps line %d: %q", n, s.Text())
		}
		p := procInfo{pid: pid, pgid: pgid, zombie: f[2][0] == 'Z'}
		if lstart := strings.Join(f[3:], " "); lstart != "-" {
			t, err := time.Parse(psLstart, lstart)
			if err != nil {
				return nil, fmt.Errorf("ps line %d: start %q: %w", n, lstart, err)
			}
			p.start = t.UTC().Format(time.RFC3339)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// startedBefore reports whether start a is earlier than b, both as a
// Process records them (Linux: clock ticks; FreeBSD: RFC 3339). ok is
// false when they cannot be compared.
func startedBefore(a, b string) (before, ok bool) {
	if x, err := strconv.ParseUint(a, 10, 64); err == nil {
		y, err := strconv.ParseUint(b, 10, 64)
		return x < y, err == nil
	}
	x, err1 := time.Parse(time.RFC3339, a)
	y, err2 := time.Parse(time.RFC3339, b)
	return x.Before(y), err1 == nil && err2 == nil
}

// leadAlive reports whether the group's leader is still the process that
// was recorded, by PID and start time, and not a zombie (which no signal
// reaches).
func leadAlive(procs []procInfo, lead procInfo) bool {
	for _, p := range procs {
		if p.pid == lead.pid && p.start == lead.start && !p.zombie {
			return true
		}
	}
	return false
}
