package health

// This file is the API oob/agent calls today. It is kept, unchanged in
// behaviour, only until the agent is wired to Checker, Handler,
// ListenAndServe and oob/metrics; then it goes.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/state"
)

// Snapshot is what the agent reports about itself.
//
// Deprecated: use Input with Checker and Handler.
type Snapshot struct {
	ModemOK        bool      `json:"modem_ok"`
	ModemError     string    `json:"modem_error,omitempty"`
	SignalDBm      int       `json:"signal_dbm"`
	SignalKnown    bool      `json:"signal_known"`
	Registration   string    `json:"registration"`
	SIM            string    `json:"sim"`
	LastPoll       time.Time `json:"last_poll,omitzero"`
	LockoutActive  bool      `json:"lockout_active"`
	SessionActive  bool      `json:"session_active"`
	SessionBytes   uint64    `json:"session_bytes"`
	StorageUsed    int       `json:"storage_used"`
	StorageTotal   int       `json:"storage_total"`
	LastDrill      time.Time `json:"last_drill,omitzero"`
	LastDrillOK    bool      `json:"last_drill_ok"`
	ModemRecovered int       `json:"modem_recoveries"`
}

// Healthy reports whether a text sent now would be read and acted on, and
// if not, why.
func (s Snapshot) Healthy() (bool, string) {
	switch {
	case !s.ModemOK:
		return false, "modem not answering: " + s.ModemError
	case s.LockoutActive:
		return false, "trigger lockout in force"
	}
	return true, "ok"
}

// legacyHandler serves /healthz and /metrics from snapshot.
func legacyHandler(snapshot func() Snapshot) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s := snapshot()
		ok, why := s.Healthy()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
			Snapshot
		}{ok, why, s})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		writeMetrics(w, snapshot())
	})
	return mux
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

func writeMetrics(w io.Writer, s Snapshot) {
	type metric struct {
		help   string
		kind   string
		labels string
		value  float64
	}
	m := map[string]metric{
		"oobd_modem_up":                     {"1 when the modem answers AT commands.", "gauge", "", b2f(s.ModemOK)},
		"oobd_lockout_active":               {"1 while the trigger lockout is in force.", "gauge", "", b2f(s.LockoutActive)},
		"oobd_session_active":               {"1 while an out-of-band session is up or being set up.", "gauge", "", b2f(s.SessionActive)},
		"oobd_session_bytes":                {"Bytes through the cellular link in the current session.", "gauge", "", float64(s.SessionBytes)},
		"oobd_sms_storage_used":             {"Messages stored on the SIM.", "gauge", "", float64(s.StorageUsed)},
		"oobd_sms_storage_total":            {"Message slots on the SIM.", "gauge", "", float64(s.StorageTotal)},
		"oobd_last_poll_timestamp_seconds":  {"When the inbox was last read.", "gauge", "", unix(s.LastPoll)},
		"oobd_last_drill_timestamp_seconds": {"When the last end-to-end drill ran.", "gauge", "", unix(s.LastDrill)},
		"oobd_last_drill_success":           {"1 when the last drill passed.", "gauge", "", b2f(s.LastDrillOK)},
		"oobd_modem_recoveries_total":       {"Recovery actions taken on the modem.", "counter", "", float64(s.ModemRecovered)},
		"oobd_modem_info":                   {"Registration and SIM state, as labels.", "gauge", fmt.Sprintf("{registration=%q,sim=%q}", s.Registration, s.SIM), 1},
	}
	if s.SignalKnown {
		m["oobd_signal_dbm"] = metric{"Received signal strength.", "gauge", "", float64(s.SignalDBm)}
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		x := m[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s%s %g\n", n, x.help, n, x.kind, n, x.labels, x.value)
	}
	io.WriteString(w, b.String())
}

// Serve listens on addr and serves until ctx ends.
//
// Deprecated: use ListenAndServe with Handler.
func Serve(ctx context.Context, addr string, snapshot func() Snapshot) error {
	return ListenAndServe(ctx, addr, legacyHandler(snapshot), nil)
}

// Collect is the snapshot from the state file, the running session (if
// active, what it carried) and the modem's recovery counters.
//
// Deprecated: the agent fills Input instead.
func Collect(st state.State, now time.Time, active bool, sessionBytes uint64, rec modem.Counters) Snapshot {
	s := Snapshot{
		ModemOK: st.Modem.OK, ModemError: st.Modem.LastError,
		SignalDBm: st.Modem.SignalDBm, SignalKnown: st.Modem.SignalKnown,
		Registration: st.Modem.Registration, SIM: st.Modem.SIM,
		LastPoll: st.LastPoll, LockoutActive: st.Trigger.LockedOut(now),
		SessionActive: active, StorageUsed: st.Modem.StorageUsed, StorageTotal: st.Modem.StorageTotal,
		ModemRecovered: rec.Reopens + rec.Resets + rec.PowerCycles,
	}
	if active {
		s.SessionBytes = sessionBytes
	}
	if d := st.LastDrill; d != nil {
		s.LastDrill, s.LastDrillOK = d.Time, d.OK
	}
	return s
}
