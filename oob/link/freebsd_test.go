package link

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// FreeBSD's tools, read on any OS from fixtures made from FreeBSD's sources
// and manual pages (testdata/freebsd; each names its sources in a .source
// note beside it).

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "freebsd", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("testdata", "freebsd", name+".source")); err != nil {
		t.Errorf("fixture %s names no source: %v", name, err)
	}
	return b
}

func TestFixturesNameTheirSources(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "freebsd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".source") {
			b, err := os.ReadFile(filepath.Join("testdata", "freebsd", e.Name()))
			if err != nil || !strings.Contains(string(b), "not captured on a running FreeBSD") || !strings.Contains(string(b), "Sources") {
				t.Errorf("%s: %v; want it to say where the fixture comes from", e.Name(), err)
			}
			continue
		}
		if _, err := os.Stat(filepath.Join("testdata", "freebsd", e.Name()+".source")); err != nil {
			t.Errorf("fixture %s has no .source note", e.Name())
		}
	}
}

func TestParseIfconfig(t *testing.T) {
	local, peer := netip.MustParseAddr("10.64.0.2"), netip.MustParseAddr("10.64.0.1")
	tests := []struct {
		fixture     string
		want        ifaceState
		held, ready bool
	}{
		{"ifconfig-tun0-up.txt", ifaceState{exists: true, up: true, running: true, local: local, peer: peer, openedBy: 1234}, true, true},
		{"ifconfig-tun0-up-13.txt", ifaceState{exists: true, up: true, running: true, local: local, peer: peer, openedBy: 1234}, true, true},
		// ppp has opened /dev/tun0 and is negotiating: the interface is
		// the link's, not ready yet.
		{"ifconfig-tun0-opened.txt", ifaceState{exists: true, openedBy: 1234}, true, false},
		// What a killed ppp leaves: a husk that counts as gone.
		{"ifconfig-tun0-closed.txt", ifaceState{exists: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := parseIfconfig("tun0", fixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseIfconfig = %+v, want %+v", got, tt.want)
			}
			if got.held() != tt.held || got.ready() != tt.ready {
				t.Errorf("held %v ready %v, want %v %v", got.held(), got.ready(), tt.held, tt.ready)
			}
		})
	}
	if !ifconfigMissing(fixture(t, "ifconfig-tun0-missing.stderr")) {
		t.Error("the missing interface's complaint not recognised")
	}
	if ifconfigMissing([]byte("ifconfig: ioctl (SIOCGIFINDEX): Operation not permitted\n")) {
		t.Error("another complaint taken for a missing interface")
	}
	for _, bad := range []string{
		"",
		"tun1: flags=8051<UP> metric 0 mtu 1500\n",
		"tun0: flags=zz<UP> metric 0 mtu 1500\n",
		"tun0: flags=8051<UP> metric 0 mtu 1500\n\tinet 10.64.0.999 --> 10.64.0.1 netmask 0xffffffff\n",
	} {
		if _, err := parseIfconfig("tun0", []byte(bad)); err == nil {
			t.Errorf("parseIfconfig accepted %q", bad)
		}
	}
}

func FuzzParseIfconfig(f *testing.F) {
	f.Add([]byte("tun0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> metric 0 mtu 1500\n\tinet 10.64.0.2 --> 10.64.0.1 netmask 0xffffffff\n\tOpened by PID 1234\n"))
	f.Add([]byte("tun0: flags=8010<POINTOPOINT,MULTICAST> metric 0 mtu 1500\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseIfconfig("tun0", b)
		if err != nil {
			return
		}
		if !s.exists || (s.local.IsValid() && !s.local.Is4()) || (s.peer.IsValid() && s.peer == s.local) || s.openedBy < 0 {
			t.Fatalf("parseIfconfig(%q) = %+v", b, s)
		}
		if s.ready() && !s.held() {
			t.Fatalf("ready but not held: %+v", s)
		}
	})
}

func TestParseNetstat(t *testing.T) {
	c, err := parseNetstat("tun0", fixture(t, "netstat-tun0.json"))
	if err != nil || c != (byteCounts{RxBytes: 91234, TxBytes: 70811}) {
		t.Errorf("parseNetstat = %+v, %v; want the link-level row's 91234, 70811", c, err)
	}
	if _, err := parseNetstat("tun1", fixture(t, "netstat-tun0.json")); err == nil {
		t.Error("counters of an interface not in the output")
	}
	if _, err := parseNetstat("tun0", fixture(t, "netstat-tun0-missing.json")); err == nil || !strings.Contains(err.Error(), "no link-level row") {
		t.Errorf("no rows: %v", err)
	}
	quoted := `{"statistics":{"interface":[{"name":"tun0","network":"<Link#3>","received-bytes":"7","sent-bytes":"8"}]}}`
	if c, err := parseNetstat("tun0", []byte(quoted)); err != nil || c != (byteCounts{RxBytes: 7, TxBytes: 8}) {
		t.Errorf("quoted counters: %+v, %v", c, err)
	}
	for _, bad := range []string{``, `{"statistics":`, `{"statistics":{"interface":[{"name":"tun0","network":"<Link#3>","received-bytes":-1}]}}`} {
		if _, err := parseNetstat("tun0", []byte(bad)); err == nil {
			t.Errorf("parseNetstat accepted %q", bad)
		}
	}
}

func TestParsePS(t *testing.T) {
	got, err := parsePS(fixture(t, "ps-ax.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []procInfo{
		{pid: 0, pgid: 0, start: "2026-12-01T01:00:00Z"},
		{pid: 1, pgid: 1, start: "2026-12-01T01:00:02Z"},
		{pid: 11, pgid: 0, start: "2026-12-01T01:00:00Z"},
		{pid: 1234, pgid: 1234, start: "2026-12-01T02:05:26Z"},
		{pid: 1240, pgid: 1234, start: "2026-12-01T02:05:27Z"},
		{pid: 1241, pgid: 1234, start: "2026-12-01T02:05:27Z", zombie: true},
		{pid: 4321, pgid: 4321, start: "2026-12-22T10:15:00Z"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parsePS =\n%+v\nwant\n%+v", got, want)
	}
	// A process ps cannot see into has no start time.
	if got, err := parsePS([]byte(" 77  77 S    -\n")); err != nil || len(got) != 1 || got[0].start != "" {
		t.Errorf("unknown start: %+v, %v", got, err)
	}
	// A line it cannot read fails the whole list: a process missed would
	// be a process taken for gone.
	for _, bad := range []string{"1234 1234 Ss\n", "x 1234 Ss Mon Dec  1 02:05:26 2026\n", "1234 1234 Ss Mon Dec 41 02:05:26 2026\n"} {
		if _, err := parsePS([]byte(bad)); err == nil {
			t.Errorf("parsePS accepted %q", bad)
		}
	}
	// The recorded start times compare in order.
	if before, ok := startedBefore(want[3].start, want[4].start); !before || !ok {
		t.Error("start times from ps do not compare")
	}
}

func FuzzParsePS(f *testing.F) {
	f.Add([]byte("1234 1234 Ss  Mon Dec  1 02:05:26 2026\n"))
	f.Add([]byte(" 77  77 S    -\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := parsePS(b)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.pid < 0 || p.pgid < 0 {
				t.Fatalf("negative id in %+v", p)
			}
			if p.start != "" {
				if _, err := time.Parse(time.RFC3339, p.start); err != nil {
					t.Fatalf("start %q: %v", p.start, err)
				}
			}
		}
	})
}

func TestRouteOutputs(t *testing.T) {
	if got := parseRouteGet(fixture(t, "route-get-tun0.txt")); got != "tun0" {
		t.Errorf("route get via the pinned route: %q", got)
	}
	if got := parseRouteGet(fixture(t, "route-get-default.txt")); got != "ue0" {
		t.Errorf("route get via the default route: %q", got)
	}
	if got := parseRouteGet(fixture(t, "route-get-missing.stderr")); got != "" {
		t.Errorf("route get without a route: %q", got)
	}
	if !routeAddExists(fixture(t, "route-add-exists.txt")) {
		t.Error("route add: an existing route not recognised")
	}
	if routeAddExists([]byte("add host 203.0.113.10: gateway tun0 fib 0: not enough memory\n")) {
		t.Error("route add: another failure taken for an existing route")
	}
	for _, f := range []string{"route-delete-notintable.txt", "route-delete-nointerface.stderr"} {
		if !routeDeleteGone(fixture(t, f)) {
			t.Errorf("route delete: %s not taken for nothing to delete", f)
		}
	}
	if routeDeleteGone([]byte("delete host 203.0.113.10: gateway tun0 fib 0: entry in use\n")) {
		t.Error("route delete: another failure taken for nothing to delete")
	}
}

// ps is asked for the columns parsePS reads, in its order, without
// headers, in a locale and zone that make lstart read the same always.
func TestPSCommand(t *testing.T) {
	want := []string{"-ax", "-o", "pid=", "-o", "pgid=", "-o", "state=", "-o", "lstart="}
	if got := psArgs(); !slices.Equal(got, want) {
		t.Errorf("psArgs = %q, want %q", got, want)
	}
	env := toolEnv()
	for _, kv := range []string{"LC_ALL=C", "TZ=UTC"} {
		if !slices.Contains(env, kv) {
			t.Errorf("toolEnv %q lacks %s", env, kv)
		}
	}
}

// FuzzParseNetstat: any output of netstat, however broken, gives counters
// or an error, never a panic.
func FuzzParseNetstat(f *testing.F) {
	if b, err := os.ReadFile("testdata/freebsd/netstat-tun0.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"statistics":{"interface":[{"name":"tun0","received-bytes":1,"sent-bytes":2}]}}`))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, out []byte) {
		parseNetstat("tun0", out)
	})
}

// addRoute's decision on FreeBSD when `route add` fails.
func TestRouteThereAlready(t *testing.T) {
	exists := fixture(t, "route-add-exists.txt")
	via := func(name string, err error) func() (string, error) {
		return func() (string, error) { return name, err }
	}
	tests := []struct {
		name string
		out  []byte
		via  func() (string, error)
		want bool
	}{
		{"there already, through the link", exists, via("tun0", nil), true},
		{"there already, through another interface", exists, via("em0", nil), false},
		{"there already, route get fails", exists, via("", errors.New("route get: exit 1")), false},
		{"another failure", []byte("add host 203.0.113.10: gateway tun0 fib 0: not enough memory\n"), via("tun0", nil), false},
	}
	for _, tt := range tests {
		if got := routeThereAlready(tt.out, tt.via, "tun0"); got != tt.want {
			t.Errorf("%s: routeThereAlready = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// signalGroup's decision on FreeBSD: the leader is signalled only while it
// is the recorded process, from ps(1)'s listing.
func TestLeadAlive(t *testing.T) {
	procs, err := parsePS(fixture(t, "ps-ax.txt"))
	if err != nil || len(procs) == 0 {
		t.Fatalf("ps fixture: %d processes, %v", len(procs), err)
	}
	live := procs[len(procs)-1]
	zombie := live
	zombie.zombie = true
	tests := []struct {
		name  string
		procs []procInfo
		lead  procInfo
		want  bool
	}{
		{"the recorded process", procs, live, true},
		{"PID reused: another start time", procs, procInfo{pid: live.pid, pgid: live.pgid, start: live.start + "0"}, false},
		{"gone", procs, procInfo{pid: 999999, start: live.start}, false},
		{"a zombie", []procInfo{zombie}, live, false},
	}
	for _, tt := range tests {
		if got := leadAlive(tt.procs, tt.lead); got != tt.want {
			t.Errorf("%s: leadAlive = %v, want %v", tt.name, got, tt.want)
		}
	}
}
