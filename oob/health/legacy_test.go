package health

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLegacyHealthz(t *testing.T) {
	tests := []struct {
		name string
		s    Snapshot
		code int
		why  string
	}{
		{"healthy", Snapshot{ModemOK: true}, 200, "ok"},
		{"modem down", Snapshot{ModemError: "timeout"}, 503, "modem not answering: timeout"},
		{"locked out", Snapshot{ModemOK: true, LockoutActive: true}, 503, "trigger lockout in force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(legacyHandler(func() Snapshot { return tt.s }))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				OK     bool
				Reason string
			}
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.code || body.Reason != tt.why || body.OK != (tt.code == 200) {
				t.Fatalf("got %d %+v, want %d %q", resp.StatusCode, body, tt.code, tt.why)
			}
		})
	}
}

func TestLegacyMetrics(t *testing.T) {
	s := Snapshot{ModemOK: true, SignalDBm: -73, SignalKnown: true, Registration: "home", SIM: "ready",
		SessionActive: true, SessionBytes: 12345, LastPoll: time.Unix(1700000000, 0)}
	srv := httptest.NewServer(legacyHandler(func() Snapshot { return s }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"oobd_modem_up 1\n", "oobd_signal_dbm -73\n", "oobd_session_bytes 12345\n",
		"oobd_last_poll_timestamp_seconds 1.7e+09\n", `oobd_modem_info{registration="home",sim="ready"} 1`,
		"# TYPE oobd_modem_recoveries_total counter\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
	s.SignalKnown = false
	resp, _ = http.Get(srv.URL + "/metrics")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "oobd_signal_dbm") {
		t.Error("unknown signal reported as a value")
	}
}
