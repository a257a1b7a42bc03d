package modemsim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestControl(t *testing.T) {
	s := newSimulator(t, WithCapacity(5))
	tests := []struct {
		line    string
		want    string // substring of the output
		wantErr bool
	}{
		{"", "", false},
		{"# a comment", "", false},
		{"help", "sms [FLAGS] FROM TEXT", false},
		{"sms +46701234567 hello  world", "stored at [0]", false},
		{"sms-ucs2 +46701234567 ucs", "stored at [1]", false},
		{"sms --ref16 --order 2,1 --ton 1 --scts 2026-01-02T15:04:05+01:00 +46701234567 " + strings.Repeat("y", 170), "stored at [2 3]", false},
		{"sms --without 1 +46701234567 " + strings.Repeat("z", 170), "stored at [4]", false},
		{"sms +46701234567 full", "SIM storage full", false},
		{"stored", `  0  REC UNREAD  +46701234567`, false},
		{"stored", "part 2/2 ref", false},
		{"stored", "5/5 used, 1 dropped", false},
		{"delete 4", "slot 4 emptied", false},
		{"data +4670 00ff", "stored at [4]", false},
		{"delete all", "storage emptied", false},
		{"pdu 040B916407214365F70000621132510440000568656C6C6F", "stored at 0", false},
		{"noise on", "noise on", false},
		{"noise off", "noise off", false},
		{"silent on", "silent on", false},
		{"silent off", "silent off", false},
		{"delay 3s", "delay 3s", false},
		{"delay 0", "delay 0s", false},
		{"garbage", "bytes of garbage", false},
		{"garbage ~~~", "3 bytes of garbage", false},
		{"signal 12", "signal 12", false},
		{"reg 5", "registration 5", false},
		{"operator Tele2", "operator Tele2", false},
		{"pin 4321", "PIN set", false},
		{"pin off", "SIM unlocked", false},
		{"sent", "nothing sent", false},
		{"status", "storage=1/5 dropped=1", false},
		{"reset", "reset", false},
		{"sms", "", true},
		{"sms +4670", "", true},
		{"sms --order x +4670 hi", "", true},
		{"sms --bogus +4670 hi", "", true},
		{"sms --scts yesterday +4670 hi", "", true},
		{"data +4670 zz", "", true},
		{"pdu 00", "", true},
		{"noise maybe", "", true},
		{"delay soon", "", true},
		{"signal 40", "", true},
		{"reg 9", "", true},
		{"operator", "", true},
		{"pin 12", "", true},
		{"delete 99", "", true},
		{"frobnicate", "", true},
	}
	for _, tt := range tests {
		out, err := s.Control(tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v", tt.line, err)
			continue
		}
		if err != nil && !errors.Is(err, errUsage) && !strings.Contains(tt.line, "pdu") {
			t.Errorf("%q: %v is not a usage error", tt.line, err)
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("%q: output %q lacks %q", tt.line, out, tt.want)
		}
	}
	if st := s.Status(); st.Signal != 12 || st.Reg != 5 || st.Operator != "Tele2" || st.Delay != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestControlSent(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	c.cmd("AT+CMGF=1")
	c.cmd(`AT+CMGS="+46701234567"`)
	c.send("bye\x1a")
	c.reply()
	out, err := s.Control("sent")
	if err != nil || !strings.Contains(out, `to +46701234567  1 part(s)  "bye"`) {
		t.Fatalf("sent: %q, %v", out, err)
	}
}

func FuzzControl(f *testing.F) {
	for _, seed := range []string{
		"sms +46701234567 hello", "sms --ref16 --order 2,1 +4670 " + strings.Repeat("x", 200),
		"sms --without 1,2 --ton 5 Telia hi", "sms --scts 2026-01-02T15:04:05+01:00 +1 x",
		"data +4670 00ff", "pdu 0000", "noise on", "delay 1ms", "signal 99", "reg 0",
		"operator X", "pin 1234", "pin off", "delete all", "stored", "status", "sent", "garbage \x00",
		"sms-ucs2 +4670 😀", "sms --ref 70000 +1 x",
	} {
		f.Add(seed)
	}
	s, err := New(WithBootQuiet(time.Millisecond), WithCapacity(10))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, line string) {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "delay") {
			return // a fuzzed delay would only slow the fuzzer down
		}
		out, err := s.Control(line)
		if err != nil && out != "" {
			t.Fatalf("%q: output %q with error %v", line, out, err)
		}
		s.Control("delete all")
	})
}
