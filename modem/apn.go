package modem

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Where the mobile-broadband-provider-info database is installed: Debian's
// package, and FreeBSD's port (net/mobile-broadband-provider-info).
const (
	ProviderDBLinux   = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"
	ProviderDBFreeBSD = "/usr/local/share/mobile-broadband-provider-info/serviceproviders.xml"
)

// APN is one internet access point a provider's SIMs use.
type APN struct {
	APN      string `json:"apn"`
	Provider string `json:"provider"`
	Name     string `json:"name,omitempty"` // the database's description of it
	Plan     string `json:"plan,omitempty"` // "prepaid", "postpaid" or both
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"` // these are public, shared by all the provider's SIMs
}

// LookupAPNs reads a serviceproviders.xml database and returns the
// internet APNs of the providers whose network matches the IMSI: its first
// six digits (MCC and a three-digit MNC), else its first five. MMS, WAP
// and other special-purpose APNs are left out. network is the MCC+MNC that
// matched ("" when none did).
func LookupAPNs(db io.Reader, imsi string) (apns []APN, network string, err error) {
	if len(imsi) < 5 || !isDigits(imsi) {
		return nil, "", fmt.Errorf("modem: apn: IMSI %q: want at least 5 digits", imsi)
	}
	var sp serviceProviders
	if err := xml.NewDecoder(db).Decode(&sp); err != nil {
		return nil, "", fmt.Errorf("modem: apn: provider database: %w", err)
	}
	for _, n := range []int{6, 5} {
		if len(imsi) < n {
			continue
		}
		if apns := sp.internetAPNs(imsi[:n]); len(apns) > 0 {
			return apns, imsi[:n], nil
		}
	}
	return nil, "", nil
}

// serviceProviders is the part of the database's format (serviceproviders
// .2.dtd) the lookup needs.
type serviceProviders struct {
	Countries []struct {
		Providers []spProvider `xml:"provider"`
	} `xml:"country"`
}

type spProvider struct {
	Names []spName `xml:"name"`
	GSM   struct {
		Networks []struct {
			MCC string `xml:"mcc,attr"`
			MNC string `xml:"mnc,attr"`
		} `xml:"network-id"`
		APNs []struct {
			Value string `xml:"value,attr"`
			Plans []struct {
				Type string `xml:"type,attr"`
			} `xml:"plan"`
			Usage *struct {
				Type string `xml:"type,attr"`
			} `xml:"usage"`
			Names    []spName `xml:"name"`
			Username string   `xml:"username"`
			Password string   `xml:"password"`
		} `xml:"apn"`
	} `xml:"gsm"`
}

// spName is a <name>, maybe in another language (xml:lang).
type spName struct {
	Lang  string `xml:"lang,attr"`
	Value string `xml:",chardata"`
}

// name prefers the name without a language, as the database's own default.
func name(ns []spName) string {
	for _, n := range ns {
		if n.Lang == "" {
			return strings.TrimSpace(n.Value)
		}
	}
	if len(ns) > 0 {
		return strings.TrimSpace(ns[0].Value)
	}
	return ""
}

func (sp *serviceProviders) internetAPNs(network string) []APN {
	var out []APN
	index := map[[2]string]int{} // provider and APN → its place in out
	for _, c := range sp.Countries {
		for _, p := range c.Providers {
			match := false
			for _, n := range p.GSM.Networks {
				if strings.TrimSpace(n.MCC)+strings.TrimSpace(n.MNC) == network {
					match = true
				}
			}
			if !match {
				continue
			}
			provider := name(p.Names)
			for _, a := range p.GSM.APNs {
				if a.Value == "" || (a.Usage != nil && a.Usage.Type != "internet") {
					continue // mms, wap, ia (initial attach), …
				}
				key := [2]string{provider, a.Value}
				i, seen := index[key]
				if !seen {
					i = len(out)
					index[key] = i
					out = append(out, APN{APN: a.Value, Provider: provider, Name: name(a.Names),
						Username: strings.TrimSpace(a.Username), Password: strings.TrimSpace(a.Password)})
				}
				// The same APN listed once per plan: one entry, every plan.
				for _, pl := range a.Plans {
					if !strings.Contains("/"+out[i].Plan+"/", "/"+pl.Type+"/") {
						out[i].Plan = strings.TrimPrefix(out[i].Plan+"/"+pl.Type, "/")
					}
				}
			}
		}
	}
	return out
}
