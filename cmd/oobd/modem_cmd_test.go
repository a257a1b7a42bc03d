package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
)

func newTestSim(t *testing.T) *modemsim.Simulator {
	t.Helper()
	s, err := modemsim.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetNoise(true)
	return s
}

func TestModemInfoCommand(t *testing.T) {
	s := newTestSim(t)
	s.SetSignal(10)
	out, errOut, code := runOobd(t, "modem", "info", "--port", s.Path())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, re := range []string{`(?m)^manufacturer +huawei$`, `(?m)^IMEI +353142030123456$`, `(?m)^SIM +ready$`,
		`(?m)^registration +home$`, `(?m)^signal +-93 dBm  ▁▂▄__ 3/5$`, `(?m)^storage +0/30 messages$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	out, _, code = runOobd(t, "modem", "info", "--json", "--port", s.Path())
	var in modem.Info
	if err := json.Unmarshal([]byte(out), &in); code != 0 || err != nil || in.SignalDBm != -93 || in.SIM != modem.SIMReady {
		t.Errorf("--json: exit %d, %v, %+v", code, err, in)
	}
}

func TestSMSCommands(t *testing.T) {
	s := newTestSim(t)
	long := strings.Repeat("a long text in parts ", 10)
	if _, err := s.Deliver("+46701234567", long, modemsim.WithPartOrder([]int{2, 1})); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runOobd(t, "sms", "list", "--port", s.Path())
	if code != 0 || !regexp.MustCompile(`(?m)^1,0 +\+46701234567 .* gsm7 +2/2 +a long text in parts`).MatchString(out) {
		t.Errorf("sms list: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runOobd(t, "sms", "list", "--json", "--port", s.Path())
	var msgs []modem.Message
	if err := json.Unmarshal([]byte(out), &msgs); code != 0 || err != nil || len(msgs) != 1 || msgs[0].Text != long {
		t.Errorf("sms list --json: exit %d, %v, %+v", code, err, msgs)
	}
	if _, errOut, code := runOobd(t, "sms", "send", "--port", s.Path(), "+46701234567", "hello", "there ✓"); code != 0 {
		t.Errorf("sms send: exit %d: %s", code, errOut)
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].Text != "hello there ✓" || sent[0].To != "+46701234567" {
		t.Errorf("sent %+v", sent)
	}
	if _, errOut, code := runOobd(t, "sms", "delete", "--port", s.Path(), "0"); code != 0 {
		t.Errorf("sms delete 0: exit %d: %s", code, errOut)
	}
	if st := s.Stored(); len(st) != 1 || st[0] != 1 {
		t.Errorf("stored after deleting slot 0: %v", st)
	}
	if _, errOut, code := runOobd(t, "sms", "delete", "--all", "--port", s.Path()); code != 0 {
		t.Errorf("sms delete --all: exit %d: %s", code, errOut)
	}
	if st := s.Stored(); len(st) != 0 {
		t.Errorf("stored after --all: %v", st)
	}
}

func TestModemCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sms", "send", "+4670"}, {"sms", "delete"}, {"sms", "delete", "1", "--all"}, {"sms", "delete", "x"},
		{"modem", "info", "extra"}, {"sms", "list", "--baud", "0"}, {"modem", "info", "--bogus"},
	} {
		if _, _, code := runOobd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if out, _, code := runOobd(t, "sms", "list", "--help"); code != 0 || !strings.Contains(out, "--port") && !strings.Contains(out, "-port") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if _, errOut, code := runOobd(t, "modem", "info", "--port", "/dev/no-such-modem"); code != 1 || !strings.Contains(errOut, "no such device") {
		t.Errorf("missing port: exit %d: %s", code, errOut)
	}
}

func TestModemCommandsTakeTheConfigsPort(t *testing.T) {
	s := newTestSim(t)
	dir, cfg := writeConfig(t, "port: /dev/null", "port: "+s.Path()+"\n  command_timeout: 3s")
	out, errOut, code := runOobd(t, "modem", "info", "--config", cfg)
	if code != 0 || !strings.Contains(out, "E1752") {
		t.Fatalf("modem info --config: exit %d, %s%s", code, out, errOut)
	}
	// A port given on the command line wins over the config's.
	_, errOut, code = runOobd(t, "sms", "list", "--config", cfg, "--port", filepath.Join(dir, "no-such-tty"))
	if code != 1 || !strings.Contains(errOut, "no-such-tty") {
		t.Fatalf("sms list --config --port: exit %d, %s", code, errOut)
	}
}
