package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
)

var (
	t0   = time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	long = strings.Repeat("very-long-name-", 20)
)

func sampleUp() Up {
	return Up{
		RequestedBy: "+46701234567",
		Started:     t0,
		Until:       t0.Add(30 * time.Minute),
		JumpHost:    "jump.example.net:22",
		Forwards: []tunnel.BoundForward{
			{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}, BoundPort: 41234},
			{Forward: tunnel.Forward{Remote: "localhost:31338", Local: "127.0.0.1:2323"}, BoundPort: 31338},
		},
		Interface: "ppp0",
		LocalIP:   "10.64.12.7",
		SignalDBm: -71,
		Operator:  "Telia",
	}
}

func TestUpMessage(t *testing.T) {
	m := UpMessage(sampleUp())
	assertOneSMS(t, m.SMS)
	for _, want := range []string{"UP 30m", "until 14:35 UTC", "ssh -J jump.example.net -p 41234 root@localhost", "ppp0 10.64.12.7 -71dBm", "+46701234567"} {
		if !strings.Contains(m.SMS, want) {
			t.Errorf("up SMS %q lacks %q", m.SMS, want)
		}
	}
	for _, want := range []string{
		"Session up for 30m, until 2026-11-23 14:35 UTC, asked by +46701234567",
		"Log in: ssh -J jump.example.net -p 41234 root@localhost",
		"Jump host: jump.example.net:22",
		"Forward: localhost:41234 (asked 0) -> localhost:22",
		"Forward: localhost:31338 -> 127.0.0.1:2323",
		"Link: ppp0 10.64.12.7, -71dBm, Telia",
	} {
		if !strings.Contains(m.Push, want) {
			t.Errorf("up push lacks %q:\n%s", want, m.Push)
		}
	}
	if m.Title != "oobd: link up" || m.Priority != PriorityNormal {
		t.Errorf("title %q priority %d", m.Title, m.Priority)
	}
	if strings.Contains(m.SMS, "41234 (asked") {
		t.Error("SMS carries push-only detail")
	}
}

func TestUpMessageLocalAndDrill(t *testing.T) {
	u := sampleUp()
	u.RequestedBy, u.Drill, u.SignalDBm = "", true, 0
	m := UpMessage(u)
	if !strings.Contains(m.Push, "asked by the local operator") || !strings.Contains(m.Push, "signal ?") {
		t.Errorf("push:\n%s", m.Push)
	}
	if m.Priority != PriorityLow || !strings.Contains(m.SMS, "drill UP") {
		t.Errorf("drill: priority %d SMS %q", m.Priority, m.SMS)
	}
}

func TestUpMessageLongJumpHostKeepsLogin(t *testing.T) {
	u := sampleUp()
	u.JumpHost = strings.Repeat("j", 100) + ".example.net:22"
	m := UpMessage(u)
	assertOneSMS(t, m.SMS)
	want := "ssh -J " + strings.Repeat("j", 100) + ".example.net -p 41234 root@localhost"
	if !strings.Contains(m.SMS, want) || !strings.HasPrefix(m.SMS, "oobd UP\n") {
		t.Errorf("SMS %q lacks the login line", m.SMS)
	}
}

func TestSSHLine(t *testing.T) {
	tests := []struct {
		name     string
		jump     string
		forwards []tunnel.BoundForward
		user     string
		want     string
	}{
		{"configured port", "jump.example.net:22", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}}}, "", "ssh -J jump.example.net -p 31337 root@localhost"},
		{"bound port wins", "jump.example.net:22", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}, BoundPort: 40001}}, "", "ssh -J jump.example.net -p 40001 root@localhost"},
		{"jump on another port", "jump.example.net:2222", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}}}, "admin", "ssh -J jump.example.net:2222 -p 31337 admin@localhost"},
		{"ssh forward not first", "j:22", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31338", Local: "127.0.0.1:2323"}}, {Forward: tunnel.Forward{Remote: "127.0.0.1:31337", Local: "127.0.0.1:22"}}}, "", "ssh -J j -p 31337 root@127.0.0.1"},
		{"wildcard listens on loopback too", "j:22", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "0.0.0.0:31337", Local: "localhost:22"}}}, "", "ssh -J j -p 31337 root@localhost"},
		{"ipv6 loopback", "j:22", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "[::1]:31337", Local: "localhost:22"}}}, "", "ssh -J j -p 31337 root@[::1]"},
		{"no port known", "j:22", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:0", Local: "localhost:22"}}}, "", ""},
		{"no forwards", "j:22", nil, "", ""},
		{"jump without port", "jump", []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}}}, "", "ssh -J jump -p 31337 root@localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SSHLine(tt.jump, tt.forwards, tt.user); got != tt.want {
				t.Errorf("SSHLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFailedMessage(t *testing.T) {
	tests := []struct {
		name string
		in   Failed
		sms  []string
	}{
		{"dial", Failed{RequestedBy: "+46701234567", At: t0, Step: "dial", Reason: "no IPv4 on ppp0 after 1m", Attempts: 3}, []string{"up failed (dial x3): no IPv4 on ppp0 after 1m.", "At 14:05 UTC."}},
		{"path", Failed{At: t0, Step: "path", Reason: "route to 203.0.113.7 goes via eth0, not ppp0", Attempts: 1}, []string{"(path): route to 203.0.113.7 goes via eth0, not ppp0"}},
		{"host key", Failed{At: t0, Step: "tunnel", Reason: "host key changed for jump.example.net"}, []string{"(tunnel): host key changed"}},
		{"forward refused", Failed{At: t0, Step: "tunnel", Reason: "forward localhost:31337 refused"}, []string{"forward localhost:31337 refused"}},
		{"drill", Failed{Drill: true, At: t0, Step: "selfcheck", Reason: "no SSH banner through localhost:31337"}, []string{"drill failed (selfcheck)"}},
		{"long reason", Failed{At: t0, Step: "dial", Reason: long, Attempts: 3}, []string{"up failed (dial x3): very-long-name-", "..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := FailedMessage(tt.in)
			assertOneSMS(t, m.SMS)
			for _, w := range tt.sms {
				if !strings.Contains(m.SMS, w) {
					t.Errorf("SMS %q lacks %q", m.SMS, w)
				}
			}
			if m.Priority != PriorityHigh {
				t.Errorf("priority %d", m.Priority)
			}
			if !strings.Contains(m.Push, tt.in.Reason) {
				t.Errorf("push %q lacks the whole reason", m.Push)
			}
		})
	}
}

func TestDownMessage(t *testing.T) {
	tests := []struct {
		name string
		in   Down
		sms  string
	}{
		{"time up", Down{RequestedBy: "+46701234567", Started: t0, Ended: t0.Add(30*time.Minute + 12*time.Second), Bytes: 1_234_567, Reason: "time up"},
			"oobd DOWN: time up. Lasted 30m, 1.2MB used. Asked by +46701234567."},
		{"budget", Down{RequestedBy: "+46701234567", Started: t0, Ended: t0.Add(2*time.Hour + 5*time.Minute), Bytes: 50_000_123, Reason: "budget reached (50MB)"},
			"oobd DOWN: budget reached (50MB). Lasted 2h5m, 50.0MB used. Asked by +46701234567."},
		{"local, never up", Down{Ended: t0, Bytes: 512, Reason: "link lost, redial failed"},
			"oobd DOWN: link lost, redial failed. Never up, 512B used. Asked by the local operator."},
		{"long reason keeps the essentials", Down{RequestedBy: "+46701234567", Started: t0, Ended: t0.Add(time.Minute), Reason: long},
			"oobd DOWN: " + long[:125] + "... Lasted 1m, 0B used."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DownMessage(tt.in)
			assertOneSMS(t, m.SMS)
			if m.SMS != tt.sms {
				t.Errorf("SMS\n got %q\nwant %q", m.SMS, tt.sms)
			}
			if !strings.Contains(m.Push, tt.in.Reason) || !strings.Contains(m.Push, Bytes(tt.in.Bytes)) {
				t.Errorf("push lacks reason or bytes:\n%s", m.Push)
			}
		})
	}
}

func TestSIMChangedMessage(t *testing.T) {
	m := SIMChangedMessage(SIMChange{OldICCID: "89460000000000000001", NewICCID: "89460000000000000002", OldIMSI: "240010000000001", NewIMSI: "240010000000002"})
	assertOneSMS(t, m.SMS)
	for _, w := range []string{"ICCID 89460000000000000001 -> 89460000000000000002", "IMSI 240010000000001 -> 240010000000002"} {
		if !strings.Contains(m.Push, w) || !strings.Contains(m.SMS, w) {
			t.Errorf("notice lacks %q:\n%s\n%s", w, m.Push, m.SMS)
		}
	}
	if m.Priority != PriorityHigh || m.Title != "oobd: SIM changed" {
		t.Errorf("%+v", m)
	}
	if m := SIMChangedMessage(SIMChange{NewICCID: "1", NewIMSI: "2"}); !strings.Contains(m.Push, "ICCID (none) -> 1") {
		t.Errorf("first SIM: %q", m.Push)
	}
}

func TestWrongPINAndStorageMessages(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{WrongPINMessage(2), "2 attempts left"},
		{WrongPINMessage(-1), "attempts left unknown"},
		{StorageMessage(28, 30), "28/30"},
	}
	for _, tt := range tests {
		assertOneSMS(t, tt.m.SMS)
		if !strings.Contains(tt.m.SMS, tt.want) || tt.m.Priority != PriorityHigh || tt.m.Push == "" {
			t.Errorf("%+v lacks %q", tt.m, tt.want)
		}
	}
}

func TestStatusSMS(t *testing.T) {
	base := Status{
		Now: t0, State: "idle", SignalDBm: -71, Registration: "home", Operator: "Telia", SIM: "ready", SIMTries: -1,
		StorageUsed: 3, StorageTotal: 30,
		LastDrill: t0.Add(-50 * time.Hour), LastDrillOK: true,
		LastFailure: t0.Add(-3 * time.Hour), LastFailureStep: "link", LastFailureWhy: "PPP x3: no IP",
	}
	up := base
	up.State, up.Until = "up", t0.Add(25*time.Minute)
	locked := base
	locked.LockoutUntil = t0.Add(time.Hour)
	pin := base
	pin.SIM, pin.SIMTries = "pin-required", 2
	never := base
	never.LastDrill, never.LastFailure, never.StorageTotal, never.SignalDBm = time.Time{}, time.Time{}, 0, 0
	// A failed up with the longest reason a failure carries, and an
	// operator's name in Cyrillic (UCS-2 on the air).
	longFail := base
	longFail.LastFailureStep, longFail.LastFailureWhy = "redial", "link dropped: dialer exited (exit status 16); redial failed: PPP x3: no IP (dialer exit status 8)"
	longFail.Operator = "Мегафон Москва Северо-Запад"

	tests := []struct {
		name string
		in   Status
		want string // a prefix: the order is part of the contract
		not  []string
	}{
		{"idle", base, "oobd idle; fail 3h ago: link PPP x3: no IP; drill ok 2d2h ago; -71dBm; home; SMS 3/30; Telia", []string{"LOCKOUT", "SIM"}},
		{"up", up, "oobd up until 14:30 UTC (25m left); fail 3h ago", nil},
		{"lockout", locked, "oobd idle; fail 3h ago: link PPP x3: no IP; LOCKOUT until 15:05 UTC; drill ok", nil},
		{"PIN", pin, "oobd idle; fail 3h ago: link PPP x3: no IP; SIM pin-required, 2 tries left; drill ok", nil},
		{"never", never, "oobd idle; no failure; drill never; signal ?; home", []string{"SMS "}},
		{"long failure, UCS-2 operator", longFail, "oobd idle; fail 3h ago: redial link dropped: dialer exited (exit status 16); redial failed: PPP x3: no IP (dialer exit status 8)", []string{"Telia", "????"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StatusSMS(tt.in)
			t.Logf("%q", got)
			assertOneSMS(t, got)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q…", got, tt.want)
			}
			if strings.Contains(got, " | ") {
				t.Errorf("%q: fields are separated by \"; \" (a | costs two septets)", got)
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("%q has %q", got, w)
				}
			}
		})
	}
}

func TestGrammarSMS(t *testing.T) {
	got := GrammarSMS(Grammar{Problem: `unknown verb "upp"`, TOTP: true, MaxDuration: 4 * time.Hour})
	want := `oobd: unknown verb "upp". Send: SECRET CODE [up [45m] | down | extend 1h | status | kill] (max 4h)`
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	assertOneSMS(t, got)
	got = GrammarSMS(Grammar{Problem: "bad duration " + long})
	assertOneSMS(t, got)
	if strings.Contains(got, "CODE") || !strings.HasPrefix(got, "oobd: bad duration") {
		t.Errorf("%q", got)
	}
}

// TestEveryTextFitsOneSMS feeds every builder long and hostile inputs.
func TestEveryTextFitsOneSMS(t *testing.T) {
	hostile := []string{long, "“ünïcødé” 😀 漢字 – …", strings.Repeat("{", 200), "\x1b\x00\xff\t", ""}
	for _, h := range hostile {
		u := sampleUp()
		u.RequestedBy, u.JumpHost, u.Interface, u.LocalIP, u.Operator, u.LoginUser = h, h+":22", h, h, h, h
		u.Forwards = append(u.Forwards, tunnel.BoundForward{Forward: tunnel.Forward{Remote: h + ":1", Local: h + ":2"}})
		texts := []string{
			UpMessage(u).SMS,
			FailedMessage(Failed{RequestedBy: h, At: t0, Step: h, Reason: h, Attempts: 99}).SMS,
			DownMessage(Down{RequestedBy: h, Started: t0, Ended: t0.Add(1000 * time.Hour), Bytes: 1 << 62, Reason: h}).SMS,
			SIMChangedMessage(SIMChange{OldICCID: h, NewICCID: h, OldIMSI: h, NewIMSI: h}).SMS,
			StatusSMS(Status{Now: t0, State: h, Until: t0.Add(time.Hour), Registration: h, Operator: h, SIM: h, SIMTries: -1,
				StorageUsed: 1 << 30, StorageTotal: 1 << 30, LockoutUntil: t0.Add(time.Hour), LastDrill: t0.Add(time.Hour),
				LastFailure: t0.Add(-time.Minute), LastFailureStep: h, LastFailureWhy: h}),
			GrammarSMS(Grammar{Problem: h, TOTP: true, MaxDuration: 1000 * time.Hour}),
		}
		for _, s := range texts {
			assertOneSMS(t, s)
		}
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0B"}, {999, "999B"}, {1000, "1.0kB"}, {1_234_567, "1.2MB"}, {50_000_000, "50.0MB"},
		{123_456_789, "123MB"}, {2_000_000_000, "2.0GB"}, {1 << 63, "9223PB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.in); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0s"}, {0, "0s"}, {45 * time.Second, "45s"}, {30 * time.Minute, "30m"},
		{30*time.Minute + 29*time.Second, "30m"}, {time.Hour, "1h"}, {65 * time.Minute, "1h5m"},
		{50 * time.Hour, "2d2h"}, {72 * time.Hour, "3d"},
	}
	for _, tt := range tests {
		if got := shortDuration(tt.in); got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzTexts: whatever the session puts in, every SMS text is one GSM-7 SMS.
func FuzzTexts(f *testing.F) {
	f.Add("+46701234567", "jump.example.net:22", "localhost:31337", "time up", 31337, int64(1800))
	f.Add(long, "[::1]:2222", "0.0.0.0:0", "“ünïcødé” 😀 – …", 0, int64(-5))
	f.Add("", "", "", "", -1, int64(1<<40))
	f.Fuzz(func(t *testing.T, who, jump, remote, why string, port int, secs int64) {
		d := time.Duration(secs) * time.Second
		u := Up{RequestedBy: who, Started: t0, Until: t0.Add(d), JumpHost: jump,
			Forwards:  []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: remote, Local: "localhost:22"}, BoundPort: port}, {Forward: tunnel.Forward{Remote: remote, Local: why}}},
			Interface: why, LocalIP: who, SignalDBm: port, Operator: why, LoginUser: why}
		for _, s := range []string{
			UpMessage(u).SMS,
			FailedMessage(Failed{RequestedBy: who, At: t0, Step: remote, Reason: why, Attempts: port}).SMS,
			DownMessage(Down{RequestedBy: who, Started: t0, Ended: t0.Add(d), Bytes: uint64(secs), Reason: why}).SMS,
			SIMChangedMessage(SIMChange{OldICCID: who, NewICCID: why, OldIMSI: jump, NewIMSI: remote}).SMS,
			StatusSMS(Status{Now: t0, State: why, Until: t0.Add(d), SignalDBm: port, Registration: who, Operator: jump, SIM: remote,
				StorageUsed: port, StorageTotal: port, LockoutUntil: t0.Add(d), LastDrill: t0.Add(-d), LastFailure: t0.Add(-d),
				LastFailureStep: remote, LastFailureWhy: why}),
			GrammarSMS(Grammar{Problem: why, TOTP: port%2 == 0, MaxDuration: d}),
			WrongPINMessage(port).SMS,
			StorageMessage(port, port).SMS,
		} {
			assertOneSMS(t, s)
		}
	})
}
