package notify

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// One SMS holds 160 septets in the GSM 7-bit default alphabet (3GPP TS
// 23.038), or 70 UTF-16 units when any character is outside it.
const (
	SMSMaxSeptets = 160
	SMSMaxUCS2    = 70
)

// ellipsis marks a cut text; GSM-7 has no "…".
const ellipsis = "..."

// gsm7NonASCII is the part of the GSM 7-bit basic set that is not in ASCII.
// (The rest of the basic set is printable ASCII without the characters
// below that need the extension table, and without the backtick.)
const gsm7NonASCII = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"

// septetsOf is how many septets r takes in GSM-7: 1 for the basic set, 2
// for the extension table (escape + character), 0 when r has no GSM-7 form.
// ESC itself (U+001B) has none: sent raw it would turn the next character
// into an extension one.
func septetsOf(r rune) int {
	switch {
	case r == '\n' || r == '\r':
		return 1
	case r == '\f' || r == '€':
		return 2
	case r >= ' ' && r <= '~':
		switch r {
		case '`':
			return 0
		case '[', '\\', ']', '^', '{', '|', '}', '~':
			return 2
		}
		return 1
	case r > '~' && strings.ContainsRune(gsm7NonASCII, r):
		return 1
	}
	return 0
}

// Septets returns the number of septets s takes in the GSM 7-bit default
// alphabet, counting extension-table characters as 2, and whether every
// character of s has a GSM-7 form (when not, n counts only those that do).
func Septets(s string) (n int, ok bool) {
	ok = true
	for _, r := range s {
		k := septetsOf(r)
		if k == 0 {
			ok = false
		}
		n += k
	}
	if !utf8.ValidString(s) {
		ok = false
	}
	return n, ok
}

// UCS2Units returns the number of UTF-16 code units s takes as UCS-2 text
// (characters outside the BMP take two).
func UCS2Units(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// FitsSMS reports whether s can be sent as one SMS part: at most 160
// septets when all of it is GSM-7, otherwise at most 70 UCS-2 units.
func FitsSMS(s string) bool {
	if n, ok := Septets(s); ok {
		return n <= SMSMaxSeptets
	}
	return UCS2Units(s) <= SMSMaxUCS2
}

// FitSMS returns s as GSM-7 text that fits one SMS: characters outside the
// GSM 7-bit alphabet are transliterated (typographic quotes and dashes,
// accented letters) or become '?', control characters other than newline
// are dropped, and a text longer than 160 septets is cut and ends in "...".
func FitSMS(s string) string {
	return fitSeptets(ToGSM7(s), SMSMaxSeptets)
}

// ToGSM7 returns s with every character that has no GSM-7 form
// transliterated, replaced by '?' or, for control and invisible
// characters, dropped. It does not shorten s.
func ToGSM7(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if septetsOf(r) > 0 && r != '\f' {
			b.WriteRune(r)
			continue
		}
		b.WriteString(transliterate(r))
	}
	return b.String()
}

// fitSeptets cuts GSM-7 text s to max septets, ending a cut text in "...".
func fitSeptets(s string, max int) string {
	if n, _ := Septets(s); n <= max {
		return s
	}
	limit := max - len(ellipsis)
	n, end := 0, 0
	for i, r := range s {
		k := septetsOf(r)
		if n+k > limit {
			break
		}
		n += k
		end = i + utf8.RuneLen(r)
	}
	return strings.TrimRight(s[:end], " \n\r") + ellipsis
}

// transliterate gives a GSM-7 stand-in for a rune that has no GSM-7 form.
func transliterate(r rune) string {
	switch {
	case r == '\t' || r == '\u00a0' || r == '\u202f' || r == '\u205f' || r == '\u3000' ||
		(r >= '\u2000' && r <= '\u200a'):
		return " "
	case r < ' ' || r == '\u007f' || (r >= '\u0080' && r < '\u00a0') ||
		(r >= '\u200b' && r <= '\u200f') || r == '\ufeff' || r == '\u2060':
		return "" // controls and invisible characters
	}
	switch r {
	case '`', '‘', '’', '‚', '‛', '′', '´':
		return "'"
	case '“', '”', '„', '‟', '″', '«', '»':
		return "\""
	case '‐', '‑', '‒', '–', '—', '―', '−':
		return "-"
	case '…':
		return ellipsis
	case '•', '·':
		return "*"
	case '×':
		return "x"
	case '÷':
		return "/"
	case '°':
		return "o"
	case '©':
		return "(c)"
	case '®':
		return "(R)"
	case '™':
		return "TM"
	case 'œ':
		return "oe"
	case 'Œ':
		return "OE"
	case 'ĳ':
		return "ij"
	case 'Ĳ':
		return "IJ"
	case 'þ':
		return "th"
	case 'Þ':
		return "Th"
	case 'ð':
		return "d"
	case 'Ð':
		return "D"
	}
	// Accented Latin letters that GSM-7 lacks become their base letter
	// (those GSM-7 has, like é, ä, ñ, are kept as they are).
	latin := [...]struct{ from, to string }{
		{"áâãāăą", "a"}, {"ÀÁÂÃĀĂĄ", "A"},
		{"çćĉċč", "c"}, {"ĆĈĊČ", "C"},
		{"ďđ", "d"}, {"ĎĐ", "D"},
		{"êëēĕėęě", "e"}, {"ÈÊËĒĔĖĘĚ", "E"},
		{"ĝğġģ", "g"}, {"ĜĞĠĢ", "G"},
		{"ĥħ", "h"}, {"ĤĦ", "H"},
		{"íîïĩīĭįı", "i"}, {"ÌÍÎÏĨĪĬĮİ", "I"},
		{"ĵ", "j"}, {"Ĵ", "J"},
		{"ķ", "k"}, {"Ķ", "K"},
		{"ĺļľŀł", "l"}, {"ĹĻĽĿŁ", "L"},
		{"ńņňŉ", "n"}, {"ŃŅŇ", "N"},
		{"óôõōŏő", "o"}, {"ÒÓÔÕŌŎŐ", "O"},
		{"ŕŗř", "r"}, {"ŔŖŘ", "R"},
		{"śŝşšș", "s"}, {"ŚŜŞŠȘ", "S"},
		{"ţťŧț", "t"}, {"ŢŤŦȚ", "T"},
		{"úûũūŭůűų", "u"}, {"ÙÚÛŨŪŬŮŰŲ", "U"},
		{"ŵ", "w"}, {"Ŵ", "W"},
		{"ýÿŷ", "y"}, {"ÝŶŸ", "Y"},
		{"źżž", "z"}, {"ŹŻŽ", "Z"},
	}
	for _, l := range latin {
		if strings.ContainsRune(l.from, r) {
			return l.to
		}
	}
	return "?"
}
