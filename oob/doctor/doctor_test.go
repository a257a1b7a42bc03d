package doctor

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/state"
)

func TestHealthyBoxPassesEveryCheck(t *testing.T) {
	jump := startJumpHost(t)
	r := newRig(t, jump)
	rep, text := r.run()
	for _, res := range rep.Results {
		if res.Status != Pass {
			t.Errorf("%s %s: %s (fix: %s)", res.Status.Mark(), res.Name, res.Detail, res.Fix)
		}
	}
	for _, name := range []string{"config", "daemon", "modem", "sim", "registration", "storage", "sms centre", "modemmanager",
		"dialer", "peer file", "chat script", "data port", "identity key", "known_hosts", "host key", "forward", "pushover", "clock"} {
		if len(rep.Find(name)) != 1 {
			t.Errorf("%d results named %q, want 1", len(rep.Find(name)), name)
		}
	}
	for _, want := range []string{
		"✓ modem          " + r.sim.Path() + " answers: huawei E1752, IMEI 353142030123456",
		"✓ registration   home, Telia",
		`sets the APN "internet.test"`,
		"offers ED25519 " + ssh.FingerprintSHA256(jump.sshd.HostKey()) + ", as known_hosts says",
		"localhost:31337 → localhost:22: localhost:22 answers SSH-2.0-OpenSSH",
		"token and user key valid; devices: phone",
		"No problems: everything a session needs is in place.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if r.opened.Load() != 1 {
		t.Errorf("the modem was opened %d times, want 1", r.opened.Load())
	}
}

// Each broken part is one ✗ (or –) named by its check, with a fix.
func TestEachProblemIsNamed(t *testing.T) {
	jump := startJumpHost(t)
	otherKey := func() ssh.PublicKey {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		k, _ := ssh.NewPublicKey(pub)
		return k
	}()
	tests := []struct {
		name   string
		sim    []modemsim.Option
		break_ func(r *rig)
		check  string // the result that must show it
		status Status
		detail string // in its detail
		fix    string // in its fix
	}{
		{name: "config problem", check: "config", status: Fail, detail: "trigger.secret_file: file ", fix: "make one: oobd secret --file ",
			break_: func(r *rig) { os.Remove(r.path("secret")) }},
		{name: "placeholder", check: "config", status: Fail, detail: "+46701234567 is the example's placeholder",
			break_: func(r *rig) { r.edit("", "+46709876543", "+46701234567") }},
		{name: "config unreadable", check: "the rest", status: Skip, detail: "the config does not load",
			break_: func(r *rig) { r.edit("", "modem:", "modem: [") }},
		{name: "modem port missing", check: "modem", status: Fail, detail: "no such file",
			break_: func(r *rig) { r.edit("", "port: "+r.sim.Path(), "port: "+r.path("ttyUSB9")) }},
		{name: "modem silent", check: "modem", status: Fail, detail: "not answering", fix: "oobd modem find",
			break_: func(r *rig) {
				r.sim.SetSilent(true)
				r.edit("", "command_timeout: 2s", "command_timeout: 1s")
			}},
		{name: "SIM wants its PIN", sim: []modemsim.Option{modemsim.WithPIN("1234")}, check: "sim", status: Fail, detail: "pin-required, 3 tries left"},
		{name: "SIM wants its PIN, the daemon has it", sim: []modemsim.Option{modemsim.WithPIN("1234")}, check: "sim", status: Fail,
			detail: "pin-required, 3 tries left", fix: "oobd run enters the PIN from modem.pin_file",
			break_: func(r *rig) {
				r.write("pin", "1234\n", 0o600)
				r.edit("", "  command_timeout:", "  pin_file: "+r.path("pin")+"\n  command_timeout:")
			}},
		{name: "SIM locked, SMS centre unknown", sim: []modemsim.Option{modemsim.WithPIN("1234")}, check: "sms centre", status: Skip, detail: "the SIM is not ready"},
		{name: "not registered", check: "registration", status: Fail, detail: "not-registered",
			break_: func(r *rig) { r.sim.SetRegistration(0) }},
		{name: "registration denied", check: "registration", status: Fail, detail: "denied",
			break_: func(r *rig) { r.sim.SetRegistration(3) }},
		{name: "storage full", sim: []modemsim.Option{modemsim.WithCapacity(2)}, check: "storage", status: Fail, detail: "full: 2 of 2 used",
			break_: func(r *rig) {
				for range 2 {
					if _, err := r.sim.Deliver("+46700000001", "hello"); err != nil {
						r.t.Fatal(err)
					}
				}
			}},
		{name: "no SMS centre", sim: []modemsim.Option{modemsim.WithSMSC("")}, check: "sms centre", status: Fail, detail: "none set on the SIM"},
		{name: "ModemManager holds the port", check: "modemmanager", status: Fail, detail: "ModemManager (PID 812) holds", fix: "systemctl disable --now ModemManager",
			break_: func(r *rig) { r.holders[r.sim.Path()] = []modem.Holder{{PID: 812, Name: "ModemManager"}} }},
		{name: "ModemManager's port is not opened", check: "modem", status: Skip, detail: "not opened: ModemManager (PID 812)",
			break_: func(r *rig) { r.holders[r.sim.Path()] = []modem.Holder{{PID: 812, Name: "ModemManager"}} }},
		{name: "pppd holds the port", check: "modem", status: Fail, detail: "held by pppd (PID 99): not opened",
			break_: func(r *rig) { r.holders[r.sim.Path()] = []modem.Holder{{PID: 99, Name: "pppd"}} }},
		{name: "no pppd", check: "dialer", status: Fail, detail: "pppd: executable file not found", fix: "apt install ppp",
			break_: func(r *rig) { delete(r.lookPath, "pppd") }},
		{name: "no peer file", check: "peer file", status: Fail, detail: "peers/oob (for 'call oob'): no such file",
			break_: func(r *rig) { os.Remove(r.path("peers/oob")) }},
		{name: "APN placeholder", check: "chat script", status: Fail, detail: "still has the placeholder APN_HERE", fix: "sed -i 's/APN_HERE/YOUR.APN/' ",
			break_: func(r *rig) { r.edit("chat", "internet.test", "APN_HERE") }},
		{name: "no chat script", check: "chat script", status: Fail, detail: "chat (from",
			break_: func(r *rig) { os.Remove(r.path("chat")) }},
		{name: "no connect line", check: "chat script", status: Fail, detail: "has no connect line",
			break_: func(r *rig) { r.edit("peers/oob", "connect ", "# connect ") }},
		{name: "device not there", check: "data port", status: Fail, detail: "dials on /dev/ttyUSB9, which is not there",
			break_: func(r *rig) { r.edit("peers/oob", r.sim.Path(), "/dev/ttyUSB9") }},
		{name: "another device", check: "data port", status: Fail, detail: "dials on /dev/null (/dev/null), but modem.port",
			break_: func(r *rig) { r.edit("peers/oob", r.sim.Path(), "/dev/null") }},
		{name: "device on the command line", check: "data port", status: Fail, detail: "link.up_command dials on /dev/null",
			break_: func(r *rig) {
				r.edit("", "notify:", "link:\n  up_command: [pppd, /dev/null, call, oob, nodetach]\nnotify:")
			}},
		{name: "no device", check: "data port", status: Fail, detail: "names no device",
			break_: func(r *rig) { r.edit("peers/oob", r.sim.Path(), "") }},
		{name: "identity readable by others", check: "identity key", status: Fail, detail: "accessible by group or others (mode 0644)", fix: "chmod 600 ",
			break_: func(r *rig) { os.Chmod(r.path("id_ed25519"), 0o644) }},
		{name: "identity encrypted", check: "identity key", status: Fail, detail: "encrypted with a passphrase",
			break_: func(r *rig) {
				os.Remove(r.path("id_ed25519"))
				os.Remove(r.path("id_ed25519.pub"))
				sshdtest.GenerateKey(r.t, r.dir, "id_ed25519", "ed25519", "a passphrase")
			}},
		{name: "identity missing", check: "identity key", status: Fail, detail: "id_ed25519: no such file",
			break_: func(r *rig) { os.Remove(r.path("id_ed25519")) }},
		{name: "jump host not in known_hosts", check: "known_hosts", status: Fail,
			detail: "has no key for [127.0.0.1]:",
			break_: func(r *rig) { r.write("known_hosts", knownhosts.Line([]string{"other.test"}, otherKey)+"\n", 0o644) }},
		{name: "jump host's key changed", check: "host key", status: Fail, detail: "CHANGED: " + jump.sshd.Addr + " offers ED25519",
			break_: func(r *rig) {
				r.write("known_hosts", knownhosts.Line([]string{knownhosts.Normalize(jump.sshd.Addr)}, otherKey)+"\n", 0o644)
			}},
		{name: "jump host not reachable", check: "host key", status: Skip, detail: "jump host not reachable over the LAN",
			break_: func(r *rig) {
				addr := closedAddr(r.t)
				r.edit("", "jump_host: "+jump.sshd.Addr, "jump_host: "+addr)
				r.write("known_hosts", jump.sshd.KnownHostsLine(knownhosts.Normalize(addr)), 0o644)
			}},
		{name: "jump host is no SSH server", check: "host key", status: Fail, detail: "answers, but no SSH handshake",
			break_: func(r *rig) {
				addr := httpListener(r.t)
				r.edit("", "jump_host: "+jump.sshd.Addr, "jump_host: "+addr)
				r.write("known_hosts", jump.sshd.KnownHostsLine(knownhosts.Normalize(addr)), 0o644)
			}},
		{name: "forward target down", check: "forward", status: Fail, detail: "does not answer",
			break_: func(r *rig) { r.edit("", "local: localhost:22", "local: "+closedAddr(r.t)) }},
		{name: "port 22 is not sshd", check: "forward", status: Fail, detail: `sent "HTTP/1.0 400 Bad Request", not an SSH banner`,
			break_: func(r *rig) { r.redirect["localhost:22"] = httpListener(r.t) }},
		{name: "Pushover user key wrong", check: "pushover", status: Fail, detail: "Pushover says: user key is invalid",
			break_: func(r *rig) { r.edit("", "user_key: "+pushUser, "user_key: "+strings.Repeat("x", 30)) }},
		{name: "Pushover not reachable", check: "pushover", status: Skip, detail: "not reachable over the LAN",
			break_: func(r *rig) { r.edit("", "api_url: ", "api_url: http://"+closedAddr(r.t)+"/1 #") }},
		{name: "clock not synchronised", check: "clock", status: Fail, detail: "not synchronised",
			break_: func(r *rig) { r.synced = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, jump, tt.sim...)
			if tt.break_ != nil {
				tt.break_(r)
			}
			rep, text := r.run()
			found := false
			for _, res := range rep.Find(tt.check) {
				if res.Status == tt.status && strings.Contains(res.Detail, tt.detail) && strings.Contains(res.Fix, tt.fix) {
					found = true
					if res.Status == Fail && res.Fix == "" {
						t.Errorf("%s fails without a fix", res.Name)
					}
				}
			}
			if !found {
				t.Errorf("no %s %s with %q (fix %q):\n%s", tt.status.Mark(), tt.check, tt.detail, tt.fix, text)
			}
			if tt.status == Fail && rep.OK() {
				t.Errorf("the report is OK with a failure")
			}
		})
	}
}

// A config problem does not hide the other checks: they go on with what
// the file says.
func TestConfigProblemKeepsCheckingTheRest(t *testing.T) {
	jump := startJumpHost(t)
	r := newRig(t, jump)
	os.Remove(r.path("secret"))
	rep, text := r.run()
	if n := rep.Failures(); n != 1 {
		t.Errorf("%d failures, want 1 (the config's):\n%s", n, text)
	}
	for _, name := range []string{"modem", "sim", "host key", "pushover"} {
		if res := rep.Find(name); len(res) != 1 || res[0].Status != Pass {
			t.Errorf("%s after a config problem: %+v", name, res)
		}
	}
}

// With the daemon running, the modem checks read its state and the port
// is never opened.
func TestDaemonRunningReadsItsState(t *testing.T) {
	jump := startJumpHost(t)
	// The daemon's own state is used when it sends it (fresher than the
	// file: the signal there may be minutes old); else its state file.
	for _, sends := range []bool{false, true} {
		r := newRig(t, jump)
		stateDir := r.path("state")
		st, err := state.Open(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		err = st.Update(func(s *state.State) {
			s.Modem.SetInfo(modem.Info{SIM: modem.SIMPIN, PINAttempts: 2, Registration: modem.RegHome, Operator: "Telia",
				SignalDBm: -71, SignalKnown: true, StorageUsed: 3, StorageTotal: 30})
		})
		if err != nil {
			t.Fatal(err)
		}
		live := st.Snapshot()
		live.Modem.SignalDBm = -58
		srv, err := control.Listen(control.SocketPath(stateDir), control.HandlerFunc(func(ctx context.Context, req control.Request) control.Response {
			if req.Verb != "status" {
				return control.Response{Error: "unexpected " + string(req.Verb)}
			}
			resp := control.Response{OK: true, Health: &health.Report{Checks: []health.Check{{Name: health.CheckModem, OK: true, Detail: "answering"}}}}
			if sends {
				resp.State = &live
			}
			return resp
		}), discardLog())
		if err != nil {
			t.Fatal(err)
		}

		rep, text := r.run()
		srv.Close()
		if r.opened.Load() != 0 {
			t.Errorf("doctor opened the modem the daemon has")
		}
		signal := "-71 dBm"
		if sends {
			signal = "-58 dBm"
		}
		want := map[string]struct {
			status Status
			detail string
		}{
			"daemon":       {Pass, "running"},
			"modem":        {Pass, "(the daemon's): answering"},
			"sim":          {Fail, "pin-required, 2 tries left"},
			"registration": {Pass, "home, Telia, " + signal},
			"storage":      {Pass, "3 of 30 used"},
			"sms centre":   {Skip, "the daemon has the port"},
		}
		for name, w := range want {
			res := rep.Find(name)
			if len(res) != 1 || res[0].Status != w.status || !strings.Contains(res[0].Detail, w.detail) {
				t.Errorf("daemon sends its state %v: %s = %+v, want %s with %q\n%s", sends, name, res, w.status, w.detail, text)
			}
		}
	}
}

// The run the documentation shows: two problems, each with its fix.
func TestTwoProblems(t *testing.T) {
	jump := startJumpHost(t)
	r := newRig(t, jump, modemsim.WithSMSC(""))
	r.edit("chat", "internet.test", "APN_HERE")
	rep, text := r.run()
	t.Logf("oobd doctor with two problems:\n%s", text)
	if rep.Failures() != 2 || len(rep.Find("sms centre")) != 1 || rep.Find("sms centre")[0].Status != Fail ||
		rep.Find("chat script")[0].Status != Fail {
		t.Errorf("want exactly the SMS centre and the chat script failing:\n%s", text)
	}
	if !strings.HasSuffix(text, "\n2 problems (✗): fix them and run oobd doctor again.\n") {
		t.Errorf("last line:\n%s", text)
	}
	if strings.Count(text, "fix: ") != 2 {
		t.Errorf("want two fixes:\n%s", text)
	}
}
