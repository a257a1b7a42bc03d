// Package phone normalises SMS sender numbers and configured numbers to
// E.164 ("+" and up to 15 digits), so that an allowlist compares like with
// like whatever form the network or the owner wrote a number in.
package phone

import (
	"fmt"
	"strings"

	"github.com/oobd/oobd/modem"
)

// maxDigits is the longest E.164 number.
const maxDigits = 15

// Normalize returns the E.164 form of a sender address of the given type of
// number, and false when the address can never match an allowlist entry:
// alphanumeric and other non-numeric types, national numbers without a
// country code, and anything that is not digits.
//
// International numbers become "+" and their digits. National and unknown
// numbers that carry a "+" or a "00" prefix are international after all;
// otherwise, with countryCode, one leading "0" is dropped and "+CC" put in
// front.
func Normalize(number string, ton modem.TON, countryCode string) (string, bool) {
	switch ton {
	case modem.TONInternational:
		d := strings.TrimPrefix(number, "+")
		if strings.HasPrefix(number, "00") {
			d = number[2:]
		}
		return e164(d)
	case modem.TONNational, modem.TONUnknown:
		switch {
		case strings.HasPrefix(number, "+"):
			return e164(number[1:])
		case strings.HasPrefix(number, "00"):
			return e164(number[2:])
		case countryCode == "":
			return "", false
		}
		if !allDigits(countryCode) {
			return "", false
		}
		return e164(countryCode + strings.TrimPrefix(number, "0"))
	}
	return "", false
}

// Parse normalises a number written by the owner (in the config): "+46…",
// "0046…", or a national number when countryCode is set.
func Parse(number, countryCode string) (string, error) {
	n := strings.TrimSpace(number)
	if n == "" {
		return "", fmt.Errorf("empty number")
	}
	if !strings.HasPrefix(n, "+") && !strings.HasPrefix(n, "00") && countryCode == "" {
		return "", fmt.Errorf("%q is a national number: set trigger.country_code or write it as +CC…", number)
	}
	e, ok := Normalize(n, modem.TONUnknown, countryCode)
	if !ok {
		return "", fmt.Errorf("%q is not a phone number (want +CC and up to %d digits)", number, maxDigits)
	}
	return e, nil
}

func e164(digits string) (string, bool) {
	if len(digits) == 0 || len(digits) > maxDigits || !allDigits(digits) || digits[0] == '0' {
		return "", false
	}
	return "+" + digits, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
