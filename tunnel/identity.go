package tunnel

import (
	"errors"
	"fmt"

	"github.com/oobd/oobd/internal/secretfile"
	"golang.org/x/crypto/ssh"
)

// ErrEncryptedKey is returned for an identity file protected by a
// passphrase: oobd runs unattended and never prompts.
var ErrEncryptedKey = errors.New("identity file is encrypted with a passphrase; an unattended agent needs an unencrypted key (ssh-keygen -p -N '' -f FILE)")

// loadIdentity reads an ed25519, ECDSA or RSA private key.
func loadIdentity(path string) (ssh.Signer, error) {
	b, err := secretfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("tunnel: identity: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		return nil, fmt.Errorf("tunnel: identity %s: %w", path, ErrEncryptedKey)
	}
	if err != nil {
		return nil, fmt.Errorf("tunnel: identity %s: %w", path, err)
	}
	return signer, nil
}
