package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/oobd/oobd/modem"
)

// apnHint is the APN `oobd modem info` suggests for the SIM, from the
// mobile-broadband-provider-info database.
type apnHint struct {
	Network string      `json:"mcc_mnc,omitempty"` // the IMSI's MCC+MNC that matched
	APNs    []modem.APN `json:"apns"`
	Note    string      `json:"note,omitempty"` // why there is none
}

// providerDB is where goos's package of the database installs it.
func providerDB(goos string) string {
	if goos == "freebsd" {
		return modem.ProviderDBFreeBSD
	}
	return modem.ProviderDBLinux
}

// lookupAPNHint finds the internet APNs for imsi in the database at db,
// or when db is "" at installed (where the package puts it).
func lookupAPNHint(imsi, db, installed string) apnHint {
	h := apnHint{APNs: []modem.APN{}}
	if imsi == "" {
		h.Note = "unknown until the SIM is ready"
		return h
	}
	path := db
	if path == "" {
		path = installed
	}
	f, err := os.Open(path)
	if err != nil {
		if db == "" && errors.Is(err, fs.ErrNotExist) {
			h.Note = "no hint: install mobile-broadband-provider-info (the database of carriers' APNs)"
		} else {
			h.Note = "no hint: " + err.Error()
		}
		return h
	}
	defer f.Close()
	apns, network, err := modem.LookupAPNs(f, imsi)
	switch {
	case err != nil:
		h.Note = "no hint: " + err.Error()
	case len(apns) == 0:
		h.Note = fmt.Sprintf("none known for MCC/MNC %s or %s: ask the carrier", imsi[:min(6, len(imsi))], imsi[:5])
	default:
		h.Network, h.APNs = network, apns
	}
	return h
}

// apnRows adds the hint to the modem info table.
func apnRows(row func(k, v string), h apnHint) {
	if len(h.APNs) == 0 {
		row("APN", h.Note)
		return
	}
	for i, a := range h.APNs {
		about := []string{a.Provider}
		if a.Name != "" {
			about[0] += ": " + a.Name
		}
		if a.Plan != "" {
			about = append(about, a.Plan)
		}
		if a.Username != "" || a.Password != "" {
			about = append(about, fmt.Sprintf("user %q password %q", a.Username, a.Password))
		}
		k := ""
		if i == 0 {
			k = "APN"
		}
		row(k, fmt.Sprintf("%s (%s)", a.APN, strings.Join(about, "; ")))
	}
	row("", fmt.Sprintf("for MCC/MNC %s; set it in the chat script: AT+CGDCONT=1,\"IP\",\"APN\"", h.Network))
}
