package modem

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzAssemble feeds stored PDUs (hex, as +CMGL shows them) to the
// decoder: it must never panic, and every slot must come back in exactly
// one message so that nothing is left behind undeleted.
func FuzzAssemble(f *testing.F) {
	f.Add("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", "")
	f.Add(rawDeliver(f, "+4670", 0x08, []byte{0x00, 'h', 0xd8, 0x3d}, 0, 7, 2, 1, scts0),
		rawDeliver(f, "+4670", 0x08, []byte{0xdc, 0x4b}, 0, 7, 2, 2, scts0))
	f.Add(rawDeliver(f, "+4670", 0x00, []byte("hello"), 8, 0x1234, 2, 1, scts0),
		rawDeliver(f, "+4670", 0x04, []byte{1, 2, 3}, 0, -1, 0, 0, scts0))
	f.Add("00", "zz")
	f.Add("0011", rawDeliver(f, "+4670", 0xf6, []byte{0, 1}, 0, 1, 9, 9, scts0))
	f.Fuzz(func(t *testing.T, a, b string) {
		entries := []stored{{index: 1, stat: 1, pdu: a}, {index: 2, stat: 0, pdu: b}, {index: 3, stat: 1, pdu: a}}
		msgs := assemble(entries)
		seen := map[int]int{}
		for _, m := range msgs {
			for _, i := range m.Indexes {
				seen[i]++
			}
			if m.Encoding == EncodingBinary && m.Text != "" {
				t.Errorf("binary message with text %q", m.Text)
			}
			if m.Have > m.Parts || (m.Complete != (m.Have == m.Parts)) {
				t.Errorf("parts: have %d of %d, complete %v", m.Have, m.Parts, m.Complete)
			}
		}
		for _, e := range entries {
			if seen[e.index] != 1 {
				t.Errorf("slot %d in %d messages, want 1", e.index, seen[e.index])
			}
		}
	})
}

// FuzzParseCMGL feeds a whole +CMGL reply, one line per "\n".
func FuzzParseCMGL(f *testing.F) {
	f.Add("+CMGL: 0,1,,24\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\n^RSSI:17")
	f.Add("+CMGL: 3,0,\"a,b\",99\n+CMTI: \"SM\",3\nABCD\n+CMGL: 4,1,,1\n")
	f.Add("+CMGL: x\n+CMGL: 1,1,,-1\n+CMGL:")
	f.Fuzz(func(t *testing.T, reply string) {
		entries, _ := parseCMGL(strings.Split(reply, "\n"))
		for _, e := range entries {
			if !isHex(e.pdu) || e.index < 0 {
				t.Errorf("entry %+v", e)
			}
		}
		assemble(entries)
	})
}

// FuzzReplyParsers runs every reply parser on the same input: none may
// panic, and what they accept must be in range.
func FuzzReplyParsers(f *testing.F) {
	for _, s := range []string{"17,99", "99,99", "0,1", "2,5,\"00C3\",\"0000B2F1\",2", `"SM",3,30,"SM",3,30`,
		"5,50,5,50", `7,1,"a,b",23`, `0,0,"Telia SE",7`, "SIM PIN", "SIM PIN,3,10,3,10,3", `"SIM PIN",2,3`,
		`144,0,"986410001000214365F7"`, `"89460100001234567890"`, `"SM",12`, `"`, ",,,", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if rssi, err := parseCSQ(s); err == nil {
			if dbm, bars, known := signal(rssi); known && (dbm < -113 || dbm > -51 || bars < 0 || bars > 5) {
				t.Errorf("signal(%d) = %d dBm, %d bars", rssi, dbm, bars)
			}
		}
		parseCREG(s)
		if u, n, err := parseCPMS(s); err == nil && (u < 0 || n < 0) {
			t.Errorf("parseCPMS(%q) = %d, %d", s, u, n)
		}
		if h, err := parseCMGLHeader(s); err == nil && (h.index < 0 || h.length < 0 || h.length > 255) {
			t.Errorf("parseCMGLHeader(%q) = %+v", s, h)
		}
		parseCOPS(s)
		parseCPIN(s)
		parsePINAttempts(s, true)
		parsePINAttempts(s, false)
		parseICCID(s, true)
		parseICCID(s, false)
		if n, ok := parseCMTI("+CMTI: " + s); ok && n < 0 {
			t.Errorf("parseCMTI index %d", n)
		}
		plainLine([]string{s}, "+CGMI")
		if n := parseCNUM([]string{"+CNUM: " + s}); n != "" && !isDigits(strings.TrimPrefix(n, "+")) {
			t.Errorf("parseCNUM(%q) = %q", s, n)
		}
	})
}

// FuzzUnsolicited feeds any line, as a reply or as news, to what keeps the
// unsolicited state: nothing panics, the signal stays a +CSQ value, and a
// reply to the command asking is never taken for news.
func FuzzUnsolicited(f *testing.F) {
	for _, s := range []string{"^RSSI:17", "^RSSI: 99", "+CREG: 1", `+CREG: 5,"00C3","0000B2F1",7`, "^BOOT:20786834,0,0,0,72",
		"+CPIN: READY", "^SIMST: 1", `+CMTI: "SM",3`, "^RSSI:-1", "+CREG:", "\x00"} {
		f.Add(s, "")
		f.Add(s, "+CREG?")
	}
	f.Fuzz(func(t *testing.T, line, answering string) {
		arrived := 0
		u := unsolicited{now: time.Now, arrived: func() { arrived++ }}
		u.reportsRegistration()
		u.setRegistration(RegHome)
		u.heard(line, answering)
		if rssi, ok := u.signal(); ok && (rssi < 0 || rssi > 99) {
			t.Errorf("%q: rssi %d", line, rssi)
		}
		if r, _ := u.registration(); strings.HasPrefix(strings.ToUpper(answering), "+CREG") && r != RegHome {
			t.Errorf("%q answering %q changed the registration to %s", line, answering, r)
		}
		if arrived > 1 {
			t.Errorf("%q: %d arrivals", line, arrived)
		}
	})
}

// FuzzWire sends arbitrary modem output through the wire: it must pass
// every line but abandoned answers, byte for byte, and never panic.
func FuzzWire(f *testing.F) {
	f.Add([]byte("\r\nOK\r\n\r\n+CSQ: 17,99\r\n\r\nOK\r\n"), 1)
	f.Add([]byte("> "), 0)
	f.Add([]byte("\x00\xffOK\r\nERROR\r\n+CMS ERROR: 321\r\n"), 2)
	f.Fuzz(func(t *testing.T, data []byte, abandoned int) {
		if abandoned < 0 || abandoned > 4 {
			return
		}
		port := &scriptPort{r: bytes.NewReader(data)}
		w := newWire(port, time.Now, nil)
		for i := 0; i < abandoned; i++ {
			w.Write([]byte("AT\r\n"))
			w.abandon()
		}
		var out bytes.Buffer
		buf := make([]byte, 7)
		for {
			n, err := w.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if abandoned == 0 && !bytes.Equal(out.Bytes(), data) {
			t.Errorf("wire changed the stream with nothing abandoned:\n in %q\nout %q", data, out.Bytes())
		}
		if out.Len() > len(data) {
			t.Errorf("wire made up bytes: %q from %q", out.Bytes(), data)
		}
	})
}

type scriptPort struct{ r *bytes.Reader }

func (p *scriptPort) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *scriptPort) Write(b []byte) (int, error) { return len(b), nil }
func (p *scriptPort) Close() error                { return nil }
