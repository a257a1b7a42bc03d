//go:build linux

package link

import (
	"os"
	"strconv"
	"testing"
)

func TestParseStat(t *testing.T) {
	const tail = " S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615"
	tests := []struct {
		name      string
		in        string
		pgrp      int
		start     string
		wantError bool
	}{
		{"plain", "4242 (pppd)" + tail, 4242, "987654", false},
		{"name with spaces and parens", "4242 (my (odd) ppp d)" + tail, 4242, "987654", false},
		{"truncated", "4242 (pppd) S 1 4242 4242", 0, "", true},
		{"no name", "4242 pppd S", 0, "", true},
		{"bad start", "4242 (pppd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x 1", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantError {
				t.Fatalf("parseStat error = %v, want error %v", err, tt.wantError)
			}
			if err == nil && (st.pgrp != tt.pgrp || st.startTime != tt.start) {
				t.Errorf("parseStat = %+v, want pgrp %d start %s", st, tt.pgrp, tt.start)
			}
		})
	}
}

func TestProcessIdentitySelf(t *testing.T) {
	start, _, cmd, err := processIdentity(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.ParseUint(start, 10, 64); err != nil || start == "0" {
		t.Errorf("start time %q", start)
	}
	if len(cmd) == 0 || cmd[0] != os.Args[0] {
		t.Errorf("cmdline %q, want argv[0] %q", cmd, os.Args[0])
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
