package modemsim

import (
	"strings"
	"testing"
)

func TestEcho(t *testing.T) {
	s := newSimulator(t)
	c := dial(t, s)
	steps := []struct{ send, want string }{
		{"AT", "AT\r\r\nOK\r\n"},
		{"ATE0", "ATE0\r\r\nOK\r\n"},
		{"AT", "\r\nOK\r\n"},
		{"ATE1", "\r\nOK\r\n"},
		{"at", "at\r\r\nOK\r\n"},
		{"ATE0", "ATE0\r\r\nOK\r\n"},
		{"ATZ", "\r\nOK\r\n"},    // the power-on profile has echo on...
		{"AT", "AT\r\r\nOK\r\n"}, // ...from the next line on
	}
	for _, st := range steps {
		if got := c.cmd(st.send); got != st.want {
			t.Fatalf("%s: got %q, want %q", st.send, got, st.want)
		}
	}
}

func TestCommands(t *testing.T) {
	s := newSimulator(t, WithIdentity(Identity{IMEI: "861234567890123"}))
	c := quietClient(t, s)
	tests := []struct {
		cmd  string
		want []string // the reply's lines, final code included
	}{
		{"AT", []string{"OK"}},
		{"ATI", []string{"Manufacturer: huawei", "Model: E1752", "Revision: 11.126.03.00.00", "IMEI: 861234567890123", "+GCAP: +CGSM,+DS,+ES", "OK"}},
		{"AT+CGMI", []string{"huawei", "OK"}},
		{"AT+GMI", []string{"huawei", "OK"}},
		{"AT+CGMM", []string{"E1752", "OK"}},
		{"AT+GMM", []string{"E1752", "OK"}},
		{"AT+CGMR", []string{"11.126.03.00.00", "OK"}},
		{"AT+GMR", []string{"11.126.03.00.00", "OK"}},
		{"AT+CGSN", []string{"861234567890123", "OK"}},
		{"AT+GSN", []string{"861234567890123", "OK"}},
		{"AT+CIMI", []string{"240011234567890", "OK"}},
		{"AT+CCID", []string{"+CCID: 89460100001234567890", "OK"}},
		{"AT^ICCID?", []string{"^ICCID: 89460100001234567890", "OK"}},
		{"AT+GCAP", []string{"+GCAP: +CGSM,+DS,+ES", "OK"}},
		{"AT+CSQ", []string{"+CSQ: 17,99", "OK"}},
		{"AT+CSQ=?", []string{"+CSQ: (0-31,99),(0-7,99)", "OK"}},
		{"AT+CREG?", []string{"+CREG: 0,1", "OK"}},
		{"AT+CREG=2", []string{"OK"}},
		{"AT+CREG?", []string{`+CREG: 2,1,"2A1C","01B7E2F4"`, "OK"}},
		{"AT+CREG=3", []string{"+CME ERROR: incorrect parameters"}},
		{"AT+CGREG?", []string{"+CGREG: 0,1", "OK"}},
		{"AT+COPS?", []string{`+COPS: 0,0,"Telia",2`, "OK"}},
		{"AT+COPS=3,2", []string{"OK"}},
		{"AT+COPS?", []string{`+COPS: 0,2,"24001",2`, "OK"}},
		{"AT+COPS=3,0", []string{"OK"}},
		{"AT^SYSINFO", []string{"^SYSINFO:2,3,0,5,1,,4", "OK"}},
		{"AT+CFUN?", []string{"+CFUN: 1", "OK"}},
		{"AT+CSCA?", []string{`+CSCA: "+46705008999",145`, "OK"}},
		{`AT+CSCA="+46700000000",145`, []string{"OK"}},
		{"AT+CSCA?", []string{`+CSCA: "+46700000000",145`, "OK"}},
		{"AT+CSMS?", []string{"+CSMS: 0,1,1,1", "OK"}},
		{"AT+CSMS=1", []string{"+CSMS: 1,1,1", "OK"}},
		{"AT+CSMS=?", []string{"+CSMS: (0-1)", "OK"}},
		{"AT+CMGF?", []string{"+CMGF: 0", "OK"}},
		{"AT+CMGF=2", []string{"+CME ERROR: incorrect parameters"}},
		{"AT+CPMS?", []string{`+CPMS: "SM",0,30,"SM",0,30,"SM",0,30`, "OK"}},
		{`AT+CPMS="SM","SM","SM"`, []string{"+CPMS: 0,30,0,30,0,30", "OK"}},
		{`AT+CPMS="ME"`, []string{"+CMS ERROR: operation not allowed"}},
		{"AT+CPMS=?", []string{`+CPMS: ("SM"),("SM"),("SM")`, "OK"}},
		{"AT+CNMI?", []string{"+CNMI: 0,0,0,0,0", "OK"}},
		{"AT+CNMI=2,1,0,0,0", []string{"OK"}},
		{"AT+CNMI?", []string{"+CNMI: 2,1,0,0,0", "OK"}},
		{"AT+CNMI=2,2,0,0,0", []string{"+CMS ERROR: operation not supported"}},
		{"AT^CURC?", []string{"^CURC: 1", "OK"}},
		{"AT^CURC=0", []string{"OK"}},
		{"AT^CURC?", []string{"^CURC: 0", "OK"}},
		{"AT+CPIN?", []string{"+CPIN: READY", "OK"}},
		{"AT^CPIN?", []string{"^CPIN: READY,,10,3,10,3", "OK"}},
		{`AT+CPINR="SIM PIN"`, []string{"+CPINR: SIM PIN,3,3", "OK"}},
		{`AT+CPIN="1234"`, []string{"+CME ERROR: operation not allowed"}},
		{`AT+CGDCONT=1,"IP","online.telia.se"`, []string{"OK"}},
		{"AT+CGDCONT?", []string{`+CGDCONT: 1,"IP","online.telia.se","0.0.0.0",0,0`, "OK"}},
		{"AT+CMEE?", []string{"+CMEE: 2", "OK"}},
		{"AT+CMGF=1;+CMGF?", []string{"+CMGF: 1", "OK"}},
		{"AT+CMGF=0", []string{"OK"}},
		{"ATV1Q0S0=0", []string{"OK"}},
		{"AT+BOGUS", []string{"ERROR"}},
		{"AT^FOO?", []string{"ERROR"}},
		{"ATX", []string{"ERROR"}},
		{"AT+CSQ;+BOGUS", []string{"+CSQ: 17,99", "ERROR"}},
		{`AT+CSCA="unterminated`, []string{"ERROR"}},
		{"AT+CMGR=30", []string{"+CMS ERROR: invalid memory index"}},
		{"AT+CMGD=-1", []string{"+CMS ERROR: invalid memory index"}},
		{"AT+CMGD=3", []string{"OK"}}, // an empty slot
		{"AT+CMGR=3", []string{"OK"}},
		{"ATH", []string{"OK"}},
		{"ATD123;", []string{"NO CARRIER"}},
	}
	for _, tt := range tests {
		got := lines(c.cmd(tt.cmd))
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", tt.cmd, got, tt.want)
		}
	}
}

func TestCMEE(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	for _, tt := range []struct{ mode, want string }{
		{"0", "ERROR"},
		{"1", "+CMS ERROR: 321"},
		{"2", "+CMS ERROR: invalid memory index"},
	} {
		c.cmd("AT+CMEE=" + tt.mode)
		if got := lines(c.cmd("AT+CMGR=99")); len(got) != 1 || got[0] != tt.want {
			t.Errorf("+CMEE=%s: got %q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestNotAnATLine(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	c.send("hello\r")
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("a non-AT line was answered: %q", got)
	}
	// Backspace edits the line, LF is ignored.
	if got := c.cmd("\nAT+CSX\bQ"); !strings.Contains(got, "+CSQ: 17,99") {
		t.Fatalf("backspace: %q", got)
	}
}

func TestDataCall(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	if got := c.cmd("ATD*99#"); got != "\r\nCONNECT\r\n" {
		t.Fatalf("ATD*99#: %q", got)
	}
	c.send("~\x7e\xff\x03AT\r") // PPP-ish bytes: swallowed, not answered
	c.send("+++")
	if got := c.reply(); got != "\r\nOK\r\n" {
		t.Fatalf("+++: %q", got)
	}
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("after +++: %q", got)
	}
	s.SetRegistration(0)
	if got := c.cmd("ATD*99***1#"); got != "\r\nNO CARRIER\r\n" {
		t.Fatalf("unregistered dial: %q", got)
	}
}
