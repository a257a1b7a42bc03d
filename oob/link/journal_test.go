package link

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The journal's JSON is state.json's "leftovers": these names are what
// every earlier version wrote and every later one must read.
func TestLeftoversJSONNames(t *testing.T) {
	lo := Leftovers{
		Interface: "ppp0",
		Dialer:    &Process{PID: 4242, StartTime: "987654", Cmdline: []string{"/etc/oob/dial.sh", "oob"}},
		Routes:    []Route{{Destination: "203.0.113.10", Interface: "ppp0"}},
	}
	b, err := json.Marshal(lo)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"interface":"ppp0","dialer_recorded":true,"dialer_pid":4242,"dialer_start_time":"987654",` +
		`"dialer_cmdline":["/etc/oob/dial.sh","oob"],"routes":[{"destination":"203.0.113.10","interface":"ppp0"}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestLeftoversJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		lo   Leftovers
		json string
	}{
		{"nothing", Leftovers{}, `{}`},
		{"interface only", Leftovers{Interface: "tun0"}, `{"interface":"tun0"}`},
		{"about to start", Leftovers{Interface: "ppp0", Dialer: &Process{Cmdline: []string{"pppd"}}},
			`{"interface":"ppp0","dialer_recorded":true,"dialer_cmdline":["pppd"]}`},
		{"running, routes", Leftovers{
			Interface: "ppp0",
			Dialer:    &Process{PID: 7, StartTime: "2026-12-01T02:05:26Z", Cmdline: []string{"ppp", "-foreground", "oob"}},
			Routes:    []Route{{Destination: "203.0.113.10", Interface: "ppp0"}, {Destination: "198.51.100.7", Interface: "ppp0"}},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.lo)
			if err != nil {
				t.Fatal(err)
			}
			if tt.json != "" && string(b) != tt.json {
				t.Errorf("Marshal = %s, want %s", b, tt.json)
			}
			var got Leftovers
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.lo) {
				t.Errorf("round trip = %+v, want %+v", got, tt.lo)
			}
		})
	}
}

// Inside a larger record, as state.json holds it, and with fields that
// record never had (a Gateway) left out.
func TestLeftoversJSONInState(t *testing.T) {
	const stateJSON = `{"active":false,"leftovers":{"interface":"ppp0","dialer_recorded":true,"dialer_pid":31,` +
		`"dialer_start_time":"55","routes":[{"destination":"203.0.113.10","interface":"ppp0","gateway":""}]}}`
	var st struct {
		Active    bool      `json:"active"`
		Leftovers Leftovers `json:"leftovers,omitzero"`
	}
	if err := json.Unmarshal([]byte(stateJSON), &st); err != nil {
		t.Fatal(err)
	}
	want := Leftovers{Interface: "ppp0", Dialer: &Process{PID: 31, StartTime: "55"},
		Routes: []Route{{Destination: "203.0.113.10", Interface: "ppp0"}}}
	if !reflect.DeepEqual(st.Leftovers, want) {
		t.Errorf("read %+v, want %+v", st.Leftovers, want)
	}
	b, err := json.Marshal(struct {
		Active    bool      `json:"active"`
		Leftovers Leftovers `json:"leftovers,omitzero"`
	}{})
	if err != nil || string(b) != `{"active":false}` {
		t.Errorf("empty leftovers written as %s, %v", b, err)
	}
}

func TestCleanupFailureJSONNames(t *testing.T) {
	f := CleanupFailure{
		FailedAt: time.Date(2026, 12, 1, 2, 5, 26, 0, time.UTC),
		Error:    "dialer pid 1234: still running",
		Left:     []string{"dialer pid 1234 (started 55)", "interface ppp0"},
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"failed_at":"2026-12-01T02:05:26Z","error":"dialer pid 1234: still running","left":["dialer pid 1234 (started 55)","interface ppp0"]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestLeftoversItems(t *testing.T) {
	lo := Leftovers{
		Interface: "ppp0",
		Dialer:    &Process{PID: 1234, StartTime: "55"},
		Routes:    []Route{{Destination: "203.0.113.10", Interface: "ppp0"}},
	}
	got := strings.Join(lo.items("ppp0"), "; ")
	if want := "dialer pid 1234 (started 55); interface ppp0; route 203.0.113.10 via ppp0"; got != want {
		t.Errorf("items = %q, want %q", got, want)
	}
	if got := (Leftovers{Dialer: &Process{}}).items(""); len(got) != 1 || !strings.Contains(got[0], "not recorded") {
		t.Errorf("items of an intent = %q", got)
	}
	if lo.Empty() || !(Leftovers{Interface: "ppp0"}).Empty() {
		t.Error("Empty is wrong")
	}
}

func TestRouteDestination(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"203.0.113.10", "203.0.113.10", true},
		{"203.0.113.7/32", "203.0.113.7", true},
		{"203.0.113.0/24", "", false},
		{"jump.example", "", false},
	} {
		got, err := routeDestination(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got.String() != tt.want) {
			t.Errorf("routeDestination(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestLoggableArgv(t *testing.T) {
	in := []string{"pppd", "call", "oob", "password", "s3cret", "nodetach"}
	got := loggableArgv(in)
	want := []string{"pppd", "call", "oob", "password", "***", "nodetach"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loggableArgv = %q, want %q", got, want)
	}
	if in[4] != "s3cret" {
		t.Error("loggableArgv changed its input")
	}
}
