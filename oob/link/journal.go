package link

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Journal keeps what the link has running or installed, so that a run that
// crashes is cleaned up by the next one, and the state of a clean-up that
// failed. Every method must be durable when it returns.
type Journal interface {
	// Leftovers returns what was last recorded (the zero value if nothing).
	Leftovers() (Leftovers, error)
	// Record replaces what was recorded before.
	Record(Leftovers) error
	// RecordCleanup records a clean-up that failed, or nil once one
	// succeeds.
	RecordCleanup(*CleanupFailure) error
}

// Leftovers is what the link has running or installed that must not outlive
// the agent: the dialer's process group and the host routes. Each is
// recorded before it exists.
//
// Its JSON is flat (the names state.json has always used); embed it in a
// larger record as a named field, not anonymously, or its MarshalJSON would
// take over the outer type's.
type Leftovers struct {
	// Interface is the link's interface name (e.g. ppp0, tun0).
	Interface string
	// Dialer is the dialer process, nil when none runs. Its PID is 0 in the
	// instant between the intent being recorded and the process starting.
	Dialer *Process
	// Routes are the host routes installed via the link.
	Routes []Route
}

// Process is one process, known beyond its PID (which the kernel reuses)
// by its start time: together the two are unique.
type Process struct {
	PID int
	// StartTime is as the OS tells it: Linux /proc/PID/stat field 22 (clock
	// ticks since boot), FreeBSD ps(1) lstart as RFC 3339 in UTC.
	StartTime string
	// Cmdline is the argv it was started with, for the log only: a script's
	// /proc cmdline starts with its interpreter, so it identifies nothing.
	Cmdline []string
}

// Route is a host route to Destination via Interface.
type Route struct {
	Destination string `json:"destination"`
	Interface   string `json:"interface"`
}

// leftoversJSON is the one declaration of the journal's field names.
type leftoversJSON struct {
	Interface string `json:"interface,omitempty"`
	// DialerRecorded is set from the moment the dialer is about to start
	// (its PID is 0 until it has) until it is gone.
	DialerRecorded  bool     `json:"dialer_recorded,omitempty"`
	DialerPID       int      `json:"dialer_pid,omitempty"`
	DialerStartTime string   `json:"dialer_start_time,omitempty"`
	DialerCmdline   []string `json:"dialer_cmdline,omitempty"`
	Routes          []Route  `json:"routes,omitempty"`
}

// MarshalJSON writes the flat form.
func (l Leftovers) MarshalJSON() ([]byte, error) {
	j := leftoversJSON{Interface: l.Interface, Routes: l.Routes}
	if d := l.Dialer; d != nil {
		j.DialerRecorded = true
		j.DialerPID, j.DialerStartTime, j.DialerCmdline = d.PID, d.StartTime, d.Cmdline
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the flat form.
func (l *Leftovers) UnmarshalJSON(b []byte) error {
	var j leftoversJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = Leftovers{Interface: j.Interface, Routes: j.Routes}
	if j.DialerRecorded {
		l.Dialer = &Process{PID: j.DialerPID, StartTime: j.DialerStartTime, Cmdline: j.DialerCmdline}
	}
	return nil
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

// items describes each leftover for a person: "dialer pid 1234 (started
// …)", "interface ppp0" (when iface is not empty: it is still there),
// "route 203.0.113.10 via ppp0".
func (l Leftovers) items(iface string) []string {
	out := []string{}
	if d := l.Dialer; d != nil {
		switch {
		case d.PID <= 0:
			out = append(out, "dialer (about to start, pid not recorded)")
		case d.StartTime == "":
			out = append(out, fmt.Sprintf("dialer pid %d", d.PID))
		default:
			out = append(out, fmt.Sprintf("dialer pid %d (started %s)", d.PID, d.StartTime))
		}
	}
	if iface != "" {
		out = append(out, "interface "+iface)
	}
	for _, r := range l.Routes {
		out = append(out, fmt.Sprintf("route %s via %s", r.Destination, r.Interface))
	}
	return out
}

// routeDestination reads a recorded destination: an address, or a /32.
func routeDestination(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.IsSingleIP() {
		return netip.Addr{}, fmt.Errorf("route destination %q: not a host address", s)
	}
	return p.Addr().Unmap(), nil
}

// CleanupFailure is a clean-up that did not finish: when, why, and what is
// still left, in words.
type CleanupFailure struct {
	FailedAt time.Time `json:"failed_at"`
	Error    string    `json:"error"`
	// Left are the things still there, e.g. "dialer pid 1234 (started …)",
	// "interface ppp0", "route 203.0.113.10 via ppp0".
	Left []string `json:"left"`
}

func (f *CleanupFailure) String() string {
	return fmt.Sprintf("%s (left: %s)", f.Error, strings.Join(f.Left, ", "))
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

func (discardJournal) Leftovers() (Leftovers, error)       { return Leftovers{}, nil }
func (discardJournal) Record(Leftovers) error              { return nil }
func (discardJournal) RecordCleanup(*CleanupFailure) error { return nil }
