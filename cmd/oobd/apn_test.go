package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oobd/oobd/modem/modemsim"
)

// The hand-made excerpt of serviceproviders.xml beside the lookup.
const providersFixture = "../../modem/testdata/serviceproviders.xml"

func TestModemInfoSuggestsTheAPN(t *testing.T) {
	s := newTestSim(t) // IMSI 240011234567890: Telia Sweden, 240 01
	out, errOut, code := runOobd(t, "modem", "info", "--providers", providersFixture, "--port", s.Path())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, re := range []string{
		`(?m)^APN +online\.telia\.se \(Telia: Telia Internet; postpaid/prepaid\)$`,
		`(?m)^ +halebop\.telia\.se \(Halebop; prepaid/postpaid\)$`,
		`(?m)^ +for MCC/MNC 24001; set it in the chat script: AT\+CGDCONT=1,"IP","APN"$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "mms") || strings.Contains(out, "wap") {
		t.Errorf("an MMS or WAP APN is suggested:\n%s", out)
	}

	out, _, _ = runOobd(t, "modem", "info", "--json", "--providers", providersFixture, "--port", s.Path())
	var got struct {
		IMSI string  `json:"imsi"`
		APN  apnHint `json:"apn"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.IMSI != "240011234567890" || got.APN.Network != "24001" ||
		len(got.APN.APNs) != 2 || got.APN.APNs[0].APN != "online.telia.se" {
		t.Errorf("--json: %v, %+v\n%s", err, got, out)
	}
}

func TestModemInfoAPNWithALockedSIM(t *testing.T) {
	s, err := modemsim.New(modemsim.WithPIN("1234"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out, errOut, code := runOobd(t, "modem", "info", "--providers", providersFixture, "--port", s.Path())
	if code != exitOK || !regexp.MustCompile(`(?m)^APN +unknown until the SIM is ready$`).MatchString(out) {
		t.Errorf("exit %d: %s\n%s", code, errOut, out)
	}
	out, _, _ = runOobd(t, "modem", "info", "--json", "--providers", providersFixture, "--port", s.Path())
	var got struct {
		APN apnHint `json:"apn"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.APN.Note != "unknown until the SIM is ready" || got.APN.APNs == nil {
		t.Errorf("--json: %v, %+v\n%s", err, got, out)
	}
}

func TestLookupAPNHint(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "serviceproviders.xml")
	tests := []struct {
		imsi, db, installed string
		note                string
		apns                int
	}{
		{"240011234567890", "", providersFixture, "", 2},
		{"240011234567890", providersFixture, missing, "", 2},
		{"", providersFixture, providersFixture, "unknown until the SIM is ready", 0},
		{"240011234567890", "", missing, "no hint: install mobile-broadband-provider-info", 0},
		{"240011234567890", missing, providersFixture, "no hint: open " + missing, 0},
		{"310260123456789", providersFixture, "", "none known for MCC/MNC 310260 or 31026: ask the carrier", 0},
		{"31026", providersFixture, "", "none known for MCC/MNC 31026 or 31026", 0},
		{"1234", providersFixture, "", "no hint: modem: apn: IMSI", 0},
	}
	for _, tt := range tests {
		h := lookupAPNHint(tt.imsi, tt.db, tt.installed)
		if !strings.HasPrefix(h.Note, tt.note) || len(h.APNs) != tt.apns || (tt.note == "") != (h.Note == "") {
			t.Errorf("lookupAPNHint(%q, %q, %q) = %+v; want note %q, %d APNs", tt.imsi, tt.db, tt.installed, h, tt.note, tt.apns)
		}
	}
	if providerDB("freebsd") == providerDB("linux") {
		t.Error("FreeBSD's port installs the database under /usr/local")
	}
}
