// Package totp implements RFC 6238 time-based one-time passwords (HOTP,
// RFC 4226, over 30-second steps with HMAC-SHA-1) as authenticator apps
// use them: key generation, the otpauth:// URI, and verification against a
// given time with a window of steps.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Step is the RFC 6238 time step in use (X = 30 s, T0 = 0).
const Step = 30 * time.Second

// Digits is the code length in use.
const Digits = 6

// KeySize is the size of generated keys: 160 bits, as RFC 4226 recommends.
const KeySize = 20

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Counter is the step number of t.
func Counter(t time.Time) int64 {
	return t.Unix() / int64(Step/time.Second)
}

// HOTP is RFC 4226's code for counter, with digits digits (6–8).
func HOTP(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Code is the code for the step holding t.
func Code(key []byte, t time.Time, digits int) string {
	return HOTP(key, uint64(Counter(t)), digits)
}

// Match reports which steps within ±window of the step holding t the code
// matches, lowest first. Every candidate is computed and compared in
// constant time, so timing says nothing about which step (if any) matched.
func Match(key []byte, code string, t time.Time, window int) []int64 {
	var steps []int64
	c := Counter(t)
	for s := c - int64(window); s <= c+int64(window); s++ {
		if s < 0 {
			continue
		}
		want := HOTP(key, uint64(s), Digits)
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			steps = append(steps, s)
		}
	}
	return steps
}

// NewKey returns a random key of KeySize bytes.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("totp: random key: %w", err)
	}
	return k, nil
}

// Encode is the unpadded base32 form of key, as apps expect it.
func Encode(key []byte) string { return b32.EncodeToString(key) }

// Decode parses a base32 key as written in a secret file: case, spaces,
// dashes and padding are ignored. Keys shorter than 80 bits are refused
// (RFC 4226 §4: at least 128 bits recommended, 160 generated here).
func Decode(s string) ([]byte, error) {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '-', '=':
			return -1
		}
		return r
	}, s))
	k, err := b32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("totp: key is not base32")
	}
	if len(k) < 10 {
		return nil, fmt.Errorf("totp: key is %d bits, want at least 80", len(k)*8)
	}
	return k, nil
}

// URI is the otpauth:// URI (the "Key Uri Format" of Google Authenticator)
// that apps import, usually as a QR code.
func URI(key []byte, issuer, account string) string {
	label := url.PathEscape(issuer + ":" + account)
	v := url.Values{}
	v.Set("secret", Encode(key))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(Digits))
	v.Set("period", fmt.Sprint(int(Step/time.Second)))
	return "otpauth://totp/" + label + "?" + v.Encode()
}
