package modem

import (
	"bytes"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestLookupAPNs(t *testing.T) {
	tests := []struct {
		imsi    string
		network string
		want    []APN
	}{
		{"240011234567890", "24001", []APN{
			{APN: "online.telia.se", Provider: "Telia", Name: "Telia Internet", Plan: "postpaid/prepaid"},
			{APN: "halebop.telia.se", Provider: "Halebop", Plan: "prepaid/postpaid"},
		}},
		// Six digits first: a three-digit MNC wins over its two-digit prefix.
		{"722341000000001", "722341", []APN{{APN: "datos.personal.com", Provider: "Personal", Username: "datos", Password: "datos"}}},
		{"722349000000001", "72234", []APN{{APN: "internet.neighbour.ar", Provider: "Two-digit neighbour"}}},
		// The MMS entry of the same APN is not the internet one.
		{"240079999999999", "24007", []APN{{APN: "internet.tele2.se", Provider: "Tele2", Name: "Mobilt Internet", Plan: "postpaid"}}},
		{"310260000000000", "", nil},
		{"24001", "24001", []APN{
			{APN: "online.telia.se", Provider: "Telia", Name: "Telia Internet", Plan: "postpaid/prepaid"},
			{APN: "halebop.telia.se", Provider: "Halebop", Plan: "prepaid/postpaid"},
		}},
	}
	for _, tt := range tests {
		f, err := os.Open("testdata/serviceproviders.xml")
		if err != nil {
			t.Fatal(err)
		}
		got, network, err := LookupAPNs(f, tt.imsi)
		f.Close()
		if err != nil || network != tt.network || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LookupAPNs(%s) = %+v, %q, %v\nwant %+v, %q", tt.imsi, got, network, err, tt.want, tt.network)
		}
	}
	for _, bad := range []string{"", "2400", "24001x234567890"} {
		if _, _, err := LookupAPNs(strings.NewReader("<serviceproviders/>"), bad); err == nil {
			t.Errorf("IMSI %q: no error", bad)
		}
	}
	if _, _, err := LookupAPNs(strings.NewReader("<serviceproviders><country>"), "240011234567890"); err == nil {
		t.Error("a broken database: no error")
	}
}

// The real database, as Debian installs it (scripts/install-test-deps.sh),
// keeps the shape the lookup reads.
func TestLookupAPNsInstalledDatabase(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the test machines are Debian; FreeBSD's port installs it under /usr/local")
	}
	f, err := os.Open(ProviderDBLinux)
	if err != nil {
		t.Fatalf("%v: install mobile-broadband-provider-info (scripts/install-test-deps.sh does)", err)
	}
	defer f.Close()
	got, network, err := LookupAPNs(f, "240011234567890")
	if err != nil || network != "24001" || len(got) == 0 {
		t.Fatalf("Telia Sweden: %+v, %q, %v", got, network, err)
	}
	for _, a := range got {
		if a.APN == "" || a.Provider == "" || strings.Contains(a.APN, "mms") {
			t.Errorf("entry %+v", a)
		}
	}
}

// FuzzLookupAPNs: any provider database and IMSI give APNs or an error,
// never a panic, and every APN given is one the database holds.
func FuzzLookupAPNs(f *testing.F) {
	f.Add([]byte(`<serviceproviders><country code="se"><provider><name>Telia</name><gsm><network-id mcc="240" mnc="01"/><apn value="online.telia.se"><usage type="internet"/></apn><apn value="mms.telia.se"><usage type="mms"/></apn></gsm></provider></country></serviceproviders>`), "240011234567890")
	f.Add([]byte("<"), "24001")
	f.Fuzz(func(t *testing.T, db []byte, imsi string) {
		apns, _, err := LookupAPNs(bytes.NewReader(db), imsi)
		if err != nil {
			return
		}
		for _, a := range apns {
			if !bytes.Contains(db, []byte(a.APN)) {
				t.Errorf("APN %q is not in the database", a.APN)
			}
		}
	})
}
