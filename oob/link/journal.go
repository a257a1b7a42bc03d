package link

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Leftovers is what a session has running or installed that must not outlive
// the agent: the dialer process and the host routes. It is recorded in a
// [Journal] before each thing exists, so that a crashed agent's successor can
// undo it with [Cleanup].
type Leftovers struct {
	// Interface is the link's interface name (e.g. ppp0, tun0).
	Interface string `json:"interface,omitempty"`
	// Dialer is the dialer process, nil when none runs. Its PID is 0 in the
	// instant between the intent being recorded and the process starting.
	Dialer *Process `json:"dialer,omitempty"`
	// Routes are the host routes installed via Interface.
	Routes []HostRoute `json:"routes,omitempty"`
}

// Empty reports whether nothing is left over.
func (l Leftovers) Empty() bool { return l.Dialer == nil && len(l.Routes) == 0 }

func (l Leftovers) clone() Leftovers {
	c := l
	if l.Dialer != nil {
		d := *l.Dialer
		d.Cmdline = slices.Clone(l.Dialer.Cmdline)
		c.Dialer = &d
	}
	c.Routes = slices.Clone(l.Routes)
	return c
}

// Process identifies one process beyond its PID, which the kernel reuses.
type Process struct {
	PID int `json:"pid"`
	// StartTime is the process's start time as the OS reports it (Linux:
	// /proc/PID/stat field 22, clock ticks since boot; FreeBSD: ps lstart).
	StartTime string `json:"start_time,omitempty"`
	// Cmdline is the argv the process was started with.
	Cmdline []string `json:"cmdline"`
}

// HostRoute is a host route to Dst via Interface.
type HostRoute struct {
	Dst       string `json:"dst"`
	Interface string `json:"interface"`
}

// Journal persists Leftovers. Record replaces what was recorded before; it
// must be durable when it returns.
type Journal interface {
	Record(Leftovers) error
}

// FileJournal is a Journal kept as a JSON file, written atomically.
type FileJournal struct {
	Path string
}

// Record writes l to the file (temporary file, fsync, rename).
func (j FileJournal) Record(l Leftovers) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("link: journal: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(j.Path), ".journal-*")
	if err != nil {
		return fmt.Errorf("link: journal: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("link: journal: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("link: journal: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("link: journal: %w", err)
	}
	if err := os.Rename(tmp.Name(), j.Path); err != nil {
		return fmt.Errorf("link: journal: %w", err)
	}
	return nil
}

// Load reads the recorded Leftovers; a missing file is no leftovers.
func (j FileJournal) Load() (Leftovers, error) {
	var l Leftovers
	b, err := os.ReadFile(j.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("link: journal: %w", err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("link: journal %s: %w", j.Path, err)
	}
	return l, nil
}

// loggableArgv is argv for the log: the value after a "password" option
// (pppd's) is replaced, so that a password given on the command line stays
// out of it.
func loggableArgv(argv []string) []string {
	out := append([]string(nil), argv...)
	for i := 1; i < len(out); i++ {
		if out[i-1] == "password" {
			out[i] = "***"
		}
	}
	return out
}

type discardJournal struct{}

func (discardJournal) Record(Leftovers) error { return nil }
