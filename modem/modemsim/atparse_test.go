package modemsim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line   string
		want   string // commands as Name/Op/Args, joined by " "
		notAT  bool
		hasErr bool
	}{
		{"AT", "", false, false},
		{"at+cmgf=0", "+CMGF/2/0", false, false},
		{"AT+CMGF?;+CMGL=4", "+CMGF/1/ +CMGL/2/4", false, false},
		{"AT+CPMS=?", "+CPMS/3/", false, false},
		{`AT+CSCA="+46;70",145;^CURC=0`, `+CSCA/2/"+46;70",145 ^CURC/2/0`, false, false},
		{"ATE0V1Q0", "E/0/0 V/0/1 Q/0/0", false, false},
		{"ATZ", "Z/0/", false, false},
		{"AT&F", "&F/0/", false, false},
		{"ATS0=0", "S/2/0=0", false, false},
		{"ATD*99#", "D/0/*99#", false, false},
		{"ATE0D*99***1#", "E/0/0 D/0/*99***1#", false, false},
		{"AT+CSQ", "+CSQ/0/", false, false},
		{"AT^SYSINFO", "^SYSINFO/0/", false, false},
		{"hello", "", true, false},
		{"", "", true, false},
		{"AT+", "", false, true},
		{"AT+C-X", "", false, true},
		{`AT+CSCA="open`, "", false, true},
		{"AT!", "", false, true},
		{"AT&", "", false, true},
		{"AT+CSQ x", "", false, true},
		{"AT" + strings.Repeat("E", maxLine), "", false, true},
	}
	for _, tt := range tests {
		cmds, ok, err := parseLine(tt.line)
		if ok == tt.notAT || (err != nil) != tt.hasErr {
			t.Errorf("%q: ok %v err %v", tt.line, ok, err)
			continue
		}
		var got []string
		for _, c := range cmds {
			got = append(got, fmt.Sprintf("%s/%d/%s", c.Name, c.Op, c.Args))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%q: got %q, want %q", tt.line, strings.Join(got, " "), tt.want)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{"1", "1", false},
		{" 2 , 1 ,0", "2|1|0", false},
		{`"SM","SM"`, "SM|SM", false},
		{`"a,b", 3`, "a,b|3", false},
		{`"REC UNREAD"`, "REC UNREAD", false},
		{`1,,3`, "1||3", false},
		{`"x`, "", true},
		{`x"y"`, "", true},
		{`"y"x`, "", true},
	}
	for _, tt := range tests {
		got, _, err := splitArgs(tt.in)
		if (err != nil) != tt.err || (err == nil && strings.Join(got, "|") != tt.want) {
			t.Errorf("%q: got %q, %v", tt.in, got, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, seed := range []string{
		"AT", "ATE0", "AT+CMGF=0;+CNMI=2,1,0,0,0", `AT+CSCA="+4670",145`, "ATD*99#",
		"AT+CMGL=?", "AT^CPIN?", "ATS0=0", "at&f", `AT+CPIN="1234","5678"`, "AT+CMGS=23",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmds, ok, err := parseLine(line)
		if !ok && (cmds != nil || err != nil) {
			t.Fatalf("%q: not AT but %v, %v", line, cmds, err)
		}
		for _, c := range cmds {
			if c.Name == "" || strings.ToUpper(c.Name) != c.Name {
				t.Fatalf("%q: command name %q", line, c.Name)
			}
			if c.Op != opSet && c.Name[0] != 'D' && c.Name[0] != 'S' && !isDigits(c.Args) && c.Args != "" {
				t.Fatalf("%q: args %q on op %d", line, c.Args, c.Op)
			}
			splitArgs(c.Args) // must not panic
		}
	})
}

// FuzzExec runs fuzzed command lines through the whole command table
// (no pty: the handlers and replies only).
func FuzzExec(f *testing.F) {
	for _, seed := range []string{
		"AT+CMGL=4", "AT+CMGF=1;+CMGL=\"ALL\"", "AT+CMGR=0", "AT+CMGD=0,4", "AT+CPIN=\"0000\"",
		"AT+CPIN=\"12345678\",\"1234\"", "AT+CNMI=2,1,0,0,0", "AT+CPMS=\"SM\",\"SM\",\"SM\"", "AT+COPS=3,2;+COPS?",
		"AT+CREG=2;+CREG?", "AT+CFUN=0", "AT+CGDCONT=1,\"IP\",\"apn\"", "AT+CPINR=\"SIM*\"", "ATD*99#", "AT+CMGS=20",
	} {
		f.Add(seed)
	}
	s, err := New(WithPIN("1234"), WithBootQuiet(time.Millisecond))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	s.Deliver("+46701234567", strings.Repeat("long message ", 20))
	f.Fuzz(func(t *testing.T, line string) {
		s.mu.Lock()
		r := s.execLocked(line)
		s.mode = modeCommand // a fuzzed ATD or +CMGS must not stick
		s.mu.Unlock()
		if !r.none && r.final == "" {
			t.Fatalf("%q: no final result code", line)
		}
		for _, c := range r.chunks {
			for _, l := range c {
				if strings.ContainsAny(l, "\r\n") {
					t.Fatalf("%q: line %q breaks the framing", line, l)
				}
			}
		}
	})
}
