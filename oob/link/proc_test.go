package link

import (
	"strconv"
	"testing"
)

func TestParseStat(t *testing.T) {
	const tail = " S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615"
	tests := []struct {
		name      string
		in        string
		want      procInfo
		wantError bool
	}{
		{"plain", "4242 (pppd)" + tail, procInfo{pid: 4242, pgid: 4242, start: "987654"}, false},
		{"name with spaces and parens", "4243 (my (odd) ppp d)" + tail, procInfo{pid: 4243, pgid: 4242, start: "987654"}, false},
		{"zombie", "4244 (sh) Z 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987655 0 0", procInfo{pid: 4244, pgid: 4242, start: "987655", zombie: true}, false},
		{"truncated", "4242 (pppd) S 1 4242 4242", procInfo{}, true},
		{"no name", "4242 pppd S", procInfo{}, true},
		{"no pid", "(pppd)" + tail, procInfo{}, true},
		{"bad state", "4242 (pppd) SS 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1", procInfo{}, true},
		{"bad start", "4242 (pppd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x 1", procInfo{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantError {
				t.Fatalf("parseStat error = %v, want error %v", err, tt.wantError)
			}
			if err == nil && st.info() != tt.want {
				t.Errorf("parseStat = %+v, want %+v", st.info(), tt.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (pppd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000"))
	f.Add([]byte("1 ((() S 1 2 3"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStat(b)
		if err != nil {
			return
		}
		if _, err := strconv.ParseUint(st.startTime, 10, 64); err != nil {
			t.Fatalf("accepted start time %q", st.startTime)
		}
	})
}
