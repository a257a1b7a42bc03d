package trigger

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/totp"
)

// BenchmarkDecide decides one valid trigger from an allowed sender, with
// the ledger in memory (the state file's write is the state package's
// cost, not the decision's). With TOTP the code is checked at ±1 step,
// three HMACs, as the spec asks. The reference is
// BenchmarkDecideReference; bench/decode.sh prints them side by side.
func BenchmarkDecide(b *testing.B) {
	for _, withTOTP := range []bool{false, true} {
		name := "totp=off"
		if withTOTP {
			name = "totp=on"
		}
		b.Run(name, func(b *testing.B) {
			set := Settings{Secret: []byte(secret), Allowlist: []string{owner, partner}, CountryCode: "46",
				MaxFailures: 3, Lockout: time.Hour, MaxAge: 15 * time.Minute, DefaultDuration: 30 * time.Minute, MaxDuration: 4 * time.Hour}
			text := secret + " up 45m"
			if withTOTP {
				set.TOTPKey = totpKey
				text = secret + " " + code(t0) + " up 45m"
			}
			store := &memStore{}
			tr, err := New(set, store, WithClock(&fakeClock{now: t0}))
			if err != nil {
				b.Fatal(err)
			}
			m := msg(owner, t0, text)
			b.ReportAllocs()
			for b.Loop() {
				// Each code is usable once: forget the used step so every
				// round takes the accepting path.
				store.st.Trigger.LastStep = 0
				if d := tr.Decide(m, Context{}); d.Verdict != Accepted {
					b.Fatalf("verdict %s (%s), want accepted", d.Verdict, d.Reason)
				}
			}
		})
	}
}

// BenchmarkDecideReference is the bare minimum a trigger check costs: a
// constant-time compare of the (already split) secret, and with TOTP one
// HMAC-SHA1 code for the message's step compared in constant time.
func BenchmarkDecideReference(b *testing.B) {
	want := []byte(secret)
	got := secret
	b.Run("totp=off", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				b.Fatal("secret does not match")
			}
		}
	})
	b.Run("totp=on", func(b *testing.B) {
		c := code(t0)
		step := uint64(totp.Counter(t0))
		b.ReportAllocs()
		for b.Loop() {
			ok := subtle.ConstantTimeCompare([]byte(got), want) == 1
			if !ok || subtle.ConstantTimeCompare([]byte(c), hotp6(totpKey, step)) != 1 {
				b.Fatal("secret or code does not match")
			}
		}
	})
}

// hotp6 is RFC 4226 HOTP with 6 digits, written out without formatting
// helpers.
func hotp6(key []byte, counter uint64) []byte {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	var buf [sha1.Size]byte
	sum := m.Sum(buf[:0])
	off := sum[len(sum)-1] & 0x0f
	v := (binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff) % 1000000
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
}
