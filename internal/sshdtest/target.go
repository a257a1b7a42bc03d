package sshdtest

import (
	"testing"

	"golang.org/x/crypto/ssh"
)

// StartTarget starts a second sshd that plays the service behind a tunnel
// (the OOB box's own sshd): it accepts a full login, commands included,
// with the given keys.
func StartTarget(t testing.TB, keys ...ssh.PublicKey) *Server {
	t.Helper()
	var ak []AuthorizedKey
	for _, k := range keys {
		ak = append(ak, AuthorizedKey{Key: k})
	}
	return Start(t, Options{AuthorizedKeys: ak})
}
