package modem

import (
	"errors"
	"testing"
)

func TestSignal(t *testing.T) {
	tests := []struct {
		rssi, dbm, bars int
		known           bool
	}{
		{0, -113, 0, true}, {1, -111, 1, true}, {5, -103, 2, true}, {10, -93, 3, true},
		{17, -79, 4, true}, {20, -73, 5, true}, {31, -51, 5, true}, {99, 0, 0, false}, {-1, 0, 0, false},
	}
	for _, tt := range tests {
		dbm, bars, known := signal(tt.rssi)
		if dbm != tt.dbm || bars != tt.bars || known != tt.known {
			t.Errorf("signal(%d) = %d dBm, %d bars, %v; want %d, %d, %v", tt.rssi, dbm, bars, known, tt.dbm, tt.bars, tt.known)
		}
	}
}

func TestParseReplies(t *testing.T) {
	t.Run("CSQ", func(t *testing.T) {
		for in, want := range map[string]int{"17,99": 17, "99,99": 99, " 0,0": 0} {
			if got, err := parseCSQ(in); err != nil || got != want {
				t.Errorf("parseCSQ(%q) = %d, %v; want %d", in, got, err, want)
			}
		}
		for _, in := range []string{"", "x,1", "32,0", "-5,0"} {
			if _, err := parseCSQ(in); err == nil {
				t.Errorf("parseCSQ(%q): no error", in)
			}
		}
	})
	t.Run("CREG", func(t *testing.T) {
		for in, want := range map[string]Registration{
			"0,1": RegHome, "2,5,\"00C3\",\"0000B2F1\",2": RegRoaming, "0,2": RegSearching,
			"0,3": RegDenied, "0,0": RegNotRegistered, "0,4": RegUnknown, "1": RegHome, "0,6": RegHome, "0,7": RegRoaming,
		} {
			if got, err := parseCREG(in); err != nil || got != want {
				t.Errorf("parseCREG(%q) = %s, %v; want %s", in, got, err, want)
			}
		}
		if _, err := parseCREG("0,x"); err == nil {
			t.Error("parseCREG(0,x): no error")
		}
	})
	t.Run("CPMS", func(t *testing.T) {
		for in, want := range map[string][2]int{
			`"SM",3,30,"SM",3,30,"SM",3,30`: {3, 30}, "5,50,5,50,5,50": {5, 50}, `"ME",0,255`: {0, 255},
		} {
			u, n, err := parseCPMS(in)
			if err != nil || u != want[0] || n != want[1] {
				t.Errorf("parseCPMS(%q) = %d,%d,%v; want %v", in, u, n, err, want)
			}
		}
		for _, in := range []string{"", `"SM"`, `"SM",1`, "-1,5"} {
			if _, _, err := parseCPMS(in); err == nil {
				t.Errorf("parseCPMS(%q): no error", in)
			}
		}
	})
	t.Run("CMGL header", func(t *testing.T) {
		h, err := parseCMGLHeader(`7,1,"a,b",23`)
		if err != nil || h != (cmglHeader{7, 1, 23}) {
			t.Errorf("got %+v, %v", h, err)
		}
		for _, in := range []string{"1,1", "x,1,,2", "1,1,,999", "-1,1,,5"} {
			if _, err := parseCMGLHeader(in); err == nil {
				t.Errorf("parseCMGLHeader(%q): no error", in)
			}
		}
	})
	t.Run("COPS", func(t *testing.T) {
		for in, want := range map[string]string{`0,0,"Telia SE",7`: "Telia SE", "0": "", `1,0,"A,B"`: "A,B"} {
			if got, err := parseCOPS(in); err != nil || got != want {
				t.Errorf("parseCOPS(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
	})
	t.Run("CPIN", func(t *testing.T) {
		for in, want := range map[string]SIMState{"READY": SIMReady, "SIM PIN": SIMPIN, `"SIM PUK"`: SIMPUK, "PH-SIM PIN": SIMError, "": SIMUnknown} {
			if got := parseCPIN(in); got != want {
				t.Errorf("parseCPIN(%q) = %s, want %s", in, got, want)
			}
		}
	})
	t.Run("PIN attempts", func(t *testing.T) {
		if n, err := parsePINAttempts("SIM PIN,3,10,3,10,3", true); err != nil || n != 3 {
			t.Errorf("^CPIN: %d, %v", n, err)
		}
		if n, err := parsePINAttempts("READY,,10,2,10,3", true); err != nil || n != 2 {
			t.Errorf("^CPIN ready: %d, %v", n, err)
		}
		if n, err := parsePINAttempts(`"SIM PIN",2,3`, false); err != nil || n != 2 {
			t.Errorf("+CPINR: %d, %v", n, err)
		}
		if _, err := parsePINAttempts("SIM PUK,10,10", false); err == nil {
			t.Error("+CPINR for the PUK taken as the PIN's")
		}
	})
	t.Run("ICCID", func(t *testing.T) {
		if id, err := parseICCID(`"89460100001234567890"`, false); err != nil || id != "89460100001234567890" {
			t.Errorf("plain: %q, %v", id, err)
		}
		if id, err := parseICCID(`144,0,"986410001000214365F7"`, true); err != nil || id != "8946010001001234567" {
			t.Errorf("EF_ICCID: %q, %v", id, err)
		}
		if _, err := parseICCID(`106,130,""`, true); err == nil {
			t.Error("+CRSM error status accepted")
		}
	})
	t.Run("CMTI", func(t *testing.T) {
		if n, ok := parseCMTI(`+CMTI: "SM",12`); !ok || n != 12 {
			t.Errorf("got %d, %v", n, ok)
		}
		if _, ok := parseCMTI(`+CMTI: "SM",x`); ok {
			t.Error("bad index accepted")
		}
	})
	t.Run("plain line", func(t *testing.T) {
		if v, ok := plainLine([]string{"^RSSI:12", "huawei"}, "+CGMI"); !ok || v != "huawei" {
			t.Errorf("got %q", v)
		}
		if v, ok := plainLine([]string{"+CGMI: \"Quectel\""}, "+CGMI"); !ok || v != "Quectel" {
			t.Errorf("got %q", v)
		}
	})
}

func TestATErrorMeaning(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{atError("+CMGS=20", errors.New("x")), "x"},
	}
	for _, tt := range tests {
		if tt.err.Error() != tt.want {
			t.Errorf("got %q, want %q", tt.err, tt.want)
		}
	}
	e := newATError("+CMGR=1", "CMS", "321", cmsMeanings)
	if e.Error() != "AT+CMGR=1: +CMS ERROR 321: invalid memory index" {
		t.Errorf("got %q", e)
	}
	e = newATError("+CPIN?", "CME", "SIM not inserted", cmeMeanings)
	if e.Code != -1 || e.Error() != "AT+CPIN?: +CME ERROR: SIM not inserted" {
		t.Errorf("got %q", e)
	}
}

func TestShownMasksPINs(t *testing.T) {
	for cmd, want := range map[string]string{
		`+CPIN="1234"`:            `+CPIN=<redacted>`,
		`+cpin=1234`:              `+cpin=<redacted>`,
		`+CPIN="12345678","4321"`: `+CPIN=<redacted>`,
		`+CLCK="SC",0,"1234"`:     `+CLCK=<redacted>`,
		`+CPIN?`:                  `+CPIN?`,
		`+CMGL=4`:                 `+CMGL=4`,
	} {
		if got := shown(cmd); got != want {
			t.Errorf("shown(%q) = %q, want %q", cmd, got, want)
		}
	}
}

func TestParseCNUM(t *testing.T) {
	tests := []struct {
		info []string
		want string
	}{
		{[]string{`+CNUM: "","+46709876543",145`}, "+46709876543"},
		{[]string{`+CNUM: "Own","46709876543",145`}, "+46709876543"},
		{[]string{`+CNUM: ,"0709876543",129`}, "0709876543"},
		{[]string{"^RSSI:12", `+CNUM: "","",129`, `+CNUM: "Voice","+4670111",145,7,4`}, "+4670111"},
		{nil, ""},
		{[]string{`+CNUM: "x","abc",145`}, ""},
		{[]string{`+CNUM: "x"`}, ""},
	}
	for _, tt := range tests {
		if got := parseCNUM(tt.info); got != tt.want {
			t.Errorf("parseCNUM(%q) = %q, want %q", tt.info, got, tt.want)
		}
	}
}
