package trigger

import (
	"crypto/sha256"
	"crypto/subtle"
)

// digest is what secrets are compared by: both sides are hashed to the same
// length first, so the comparison takes the same time whatever the length
// of either and leaks nothing about the secret's length.
type digest [sha256.Size]byte

func digestOf(s []byte) digest { return sha256.Sum256(s) }

// secretEqual compares a candidate with the secret's digest in constant
// time: no branch depends on the bytes (a test checks the shape of this
// function).
func secretEqual(candidate string, want *digest) bool {
	got := sha256.Sum256([]byte(candidate))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
