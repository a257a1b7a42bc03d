package modemsim

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPIN(t *testing.T) {
	s := newSimulator(t, WithPIN("1234"))
	c := quietClient(t, s)
	steps := []struct{ cmd, want string }{
		{"AT+CPIN?", "+CPIN: SIM PIN|OK"},
		{"AT^CPIN?", "^CPIN: SIM PIN,3,10,3,10,3|OK"},
		{"AT+CIMI", "+CME ERROR: SIM PIN required"},
		{"AT+CMGL=4", "+CME ERROR: SIM PIN required"},
		{"AT+CREG?", "+CREG: 0,0|OK"},
		{"AT+COPS?", "+COPS: 0|OK"},
		{"AT+CGSN", "353142030123456|OK"}, // the modem answers without a SIM
		{`AT+CPIN="0000"`, "+CME ERROR: incorrect password"},
		{`AT+CPIN="1111"`, "+CME ERROR: incorrect password"},
		{"AT^CPIN?", "^CPIN: SIM PIN,1,10,1,10,3|OK"},
		{`AT+CPINR="SIM PIN"`, "+CPINR: SIM PIN,1,3|OK"},
		{`AT+CPIN="1234"`, "OK"},
		{"AT+CPIN?", "+CPIN: READY|OK"},
		{"AT^CPIN?", "^CPIN: READY,,10,3,10,3|OK"},
		{"AT+CIMI", "240011234567890|OK"},
		{"AT+CREG?", "+CREG: 0,1|OK"},
	}
	run := func(steps []struct{ cmd, want string }) {
		t.Helper()
		for _, st := range steps {
			if got := strings.Join(lines(c.cmd(st.cmd)), "|"); got != st.want {
				t.Fatalf("%s: got %q, want %q", st.cmd, got, st.want)
			}
		}
	}
	run(steps)

	// A reset asks for the PIN again; three wrong tries need the PUK.
	s.Reset()
	c.until("^BOOT:")
	c.until("^MODE:5,4\r\n")
	c = quietClient(t, s)
	run([]struct{ cmd, want string }{
		{"AT+CPIN?", "+CPIN: SIM PIN|OK"},
		{`AT+CPIN="0000"`, "+CME ERROR: incorrect password"},
		{`AT+CPIN="0000"`, "+CME ERROR: incorrect password"},
		{`AT+CPIN="0000"`, "+CME ERROR: incorrect password"},
		{"AT+CPIN?", "+CPIN: SIM PUK|OK"},
		{"AT^CPIN?", "^CPIN: SIM PUK,10,10,0,10,3|OK"},
		{"AT+CIMI", "+CME ERROR: SIM PUK required"},
		{`AT+CPIN="1234"`, "+CME ERROR: incorrect parameters"},
		{`AT+CPIN="00000000","4321"`, "+CME ERROR: incorrect password"},
		{`AT+CPINR="SIM PUK"`, "+CPINR: SIM PUK,9,10|OK"},
		{`AT+CPIN="12345678","4321"`, "OK"},
		{"AT+CPIN?", "+CPIN: READY|OK"},
	})
	if st := s.Status(); st.SIM != "READY" || st.PINLeft != 3 || st.PUKLeft != 10 {
		t.Errorf("status after PUK: %+v", st)
	}
}

func TestReset(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	c.cmd("AT+CMGF=1;+CNMI=2,1;^CURC=0")
	if got := c.cmd("AT+CFUN=1,1"); got != "\r\nOK\r\n" {
		t.Fatalf("+CFUN=1,1: %q", got)
	}
	// Quiet, then the boot noise; input during the quiet is lost.
	c.send("AT\r")
	boot := c.until("^MODE:5,4\r\n")
	if !strings.Contains(boot, "^BOOT:") || strings.Contains(boot, "OK") {
		t.Fatalf("boot: %q", boot)
	}
	// Power-on profile: echo on, PDU mode, no indications.
	if got := c.cmd("AT+CMGF?;+CNMI?;^CURC?"); got != "AT+CMGF?;+CNMI?;^CURC?\r\r\n+CMGF: 0\r\n\r\n+CNMI: 0,0,0,0,0\r\n\r\n^CURC: 1\r\n\r\nOK\r\n" {
		t.Fatalf("after reset: %q", got)
	}
}

func TestNoise(t *testing.T) {
	s := newSimulator(t)
	c := dial(t, s) // echo on: noise lands between the echo and the reply
	s.SetNoise(true)
	got := c.cmd("AT+CSQ")
	re := regexp.MustCompile(`^AT\+CSQ\r\r\n(\^RSSI:\d+|\^MODE:5,4|\^SRVST:2|\+CREG: \d|\^BOOT:[0-9,]+)\r\n\r\n\+CSQ: 17,99\r\n\r\nOK\r\n$`)
	if !re.MatchString(got) {
		t.Fatalf("noisy +CSQ: %q", got)
	}
	// Noise between the entries of a multi-line reply, never inside one.
	for i := 0; i < 3; i++ {
		s.Deliver("+4670", "x")
	}
	c.cmd("ATE0")
	ls := lines(c.cmd("AT+CMGL=4"))
	var entries, noise int
	for i := 0; i < len(ls); i++ {
		switch {
		case strings.HasPrefix(ls[i], "+CMGL: "):
			entries++
			if i+1 >= len(ls) || !regexp.MustCompile(`^[0-9A-F]+$`).MatchString(ls[i+1]) {
				t.Fatalf("entry %q not followed by its PDU: %q", ls[i], ls)
			}
			i++
		case ls[i] == "OK":
		default:
			noise++
		}
	}
	if entries != 3 || noise < 3 {
		t.Fatalf("%d entries, %d noise lines: %q", entries, noise, ls)
	}
	// ^CURC=0 silences the Huawei lines, as on the real modem.
	c.cmd("AT^CURC=0")
	for i := 0; i < 5; i++ {
		if ls := lines(c.cmd("AT")); strings.HasPrefix(ls[0], "^") {
			t.Fatalf("^CURC=0 but %q", ls)
		}
	}
	s.SetNoise(false)
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("noise off: %q", got)
	}
}

func TestPendingURCInsideReply(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	c.cmd("AT+CNMI=2,1")
	s.SetDelay(200 * time.Millisecond)
	c.send("AT+CSQ\r")
	c.until("+CSQ: 17,99\r\n") // the reply is half out, the OK is delayed
	s.Deliver("+4670", "arrives mid-reply")
	rest := c.reply()
	if !strings.Contains(rest, `+CMTI: "SM",0`) && !strings.Contains(c.until(`+CMTI: "SM",0`), "+CMTI") {
		t.Fatalf("no +CMTI: %q", rest)
	}
}

func TestDelay(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	s.SetDelay(time.Hour)
	c.send("AT+CSQ\r")
	c.until("+CSQ: 17,99\r\n")
	// A client with a short timeout gives up; the OK is still to come.
	c.quiet(100 * time.Millisecond)
	s2 := newSimulator(t)
	c2 := quietClient(t, s2)
	s2.SetDelay(300 * time.Millisecond)
	c2.send("AT\r")
	c2.quiet(50 * time.Millisecond)
	if got := c2.reply(); got != "\r\nOK\r\n" {
		t.Fatalf("late OK: %q", got)
	}
}

func TestSilent(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	c.cmd("AT+CNMI=2,1")
	s.SetSilent(true)
	c.send("AT\r")
	s.Deliver("+4670", "stored, not indicated")
	c.quiet(150 * time.Millisecond)
	s.SetSilent(false)
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("after silence: %q", got)
	}
	if len(s.Stored()) != 1 {
		t.Fatalf("stored %v", s.Stored())
	}
}

func TestGarbage(t *testing.T) {
	s := newSimulator(t)
	c := quietClient(t, s)
	junk := "\x00\xff\xfe~#\r\n"
	s.InjectGarbage([]byte(junk))
	if got := c.until("\r\n"); got != junk {
		t.Fatalf("garbage %q", got)
	}
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("after garbage: %q", got)
	}
}

func TestReopen(t *testing.T) {
	s := newSimulator(t)
	for i := 0; i < 5; i++ {
		c := dial(t, s)
		if got := c.cmd("ATE0;+CNMI=2,1"); !strings.HasSuffix(got, "\r\nOK\r\n") {
			t.Fatalf("open %d: %q", i, got)
		}
		// Half a command and an unread reply are left behind.
		c.send("AT+CSQ\rAT+CG")
		time.Sleep(20 * time.Millisecond) // let the reply be written, unread
		s.mu.Lock()
		n, wake := s.hangups, s.hangupWake
		s.mu.Unlock()
		c.close()
		waitHangup(t, s, n, wake)
		s.Deliver("+4670", "while closed") // its +CMTI is lost with nobody there
		c = dial(t, s)
		c.quiet(50 * time.Millisecond) // nothing stale
		if got := c.cmd("AT"); got != "\r\nOK\r\n" {
			t.Fatalf("re-open %d: %q", i, got)
		}
		c.close()
	}
	if n := len(s.Stored()); n != 5 {
		t.Fatalf("stored %d", n)
	}
}

func TestCloseIdempotent(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	s.SetDelay(time.Hour)
	c.send("AT\r") // Close must not wait for the hour
	s.Reset()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, o := range []Option{WithCapacity(0), WithCapacity(256), WithPIN("12"), WithPIN("abcd")} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Error("New accepted a bad option")
		}
	}
}

// waitHangup waits for the simulator to notice the client closed the port.
func waitHangup(t *testing.T, s *Simulator, before int, wake chan struct{}) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(wait):
		t.Fatalf("hang-up %d not noticed", before+1)
	}
}

func TestCloseWithUnreadOutput(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	// A client that writes and never reads: the pty fills up and the
	// simulator blocks writing. Close must still return.
	c.send(strings.Repeat("ATI\r", 2000))
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Close hung on a full line")
	}
}

func TestCloseWithClientOpen(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	if got := c.cmd("AT"); !strings.HasSuffix(got, "OK\r\n") {
		t.Fatalf("AT: %q", got)
	}
	// The simulator is now blocked reading an idle, open line.
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Close(); t.Logf("Close took %v", time.Since(start)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Close hung with a client on the line")
	}
}

func TestICCIDWhileLocked(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"by default the locked SIM hides it", nil, "+CME ERROR: SIM PIN required"},
		{"WithICCIDWhileLocked", []Option{WithICCIDWhileLocked()}, "+CCID: 89460100001234567890|OK"},
		{"WithICCIDWhileLocked without +CCID", []Option{WithICCIDWhileLocked(), WithoutCommands("+CCID")}, "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t, append([]Option{WithPIN("1234")}, tt.opts...)...)
			c := quietClient(t, s)
			if got := strings.Join(lines(c.cmd("AT+CCID")), "|"); got != tt.want {
				t.Errorf("AT+CCID with the SIM locked: %q, want %q", got, tt.want)
			}
			// The rest of the SIM stays locked.
			if got := strings.Join(lines(c.cmd("AT+CIMI")), "|"); got != "+CME ERROR: SIM PIN required" {
				t.Errorf("AT+CIMI with the SIM locked: %q", got)
			}
		})
	}
}
