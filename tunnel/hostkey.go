package tunnel

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// UnknownHostError means known_hosts holds no key for the jump host: the
// connection is refused, never trusted on first use.
type UnknownHostError struct {
	Host       string        // the name looked up, e.g. "[jump.example.net]:2222"
	File       string        // the known_hosts file
	Offered    ssh.PublicKey // the key the server offered
	OfferedFor string        // its SHA256 fingerprint
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("tunnel: host key: %s is not in %s (server offered %s key %s); refusing to connect, add the jump host's key to known_hosts after checking it",
		e.Host, e.File, KeyTypeName(e.Offered), e.OfferedFor)
}

// Summary is the reason in a few words, for an SMS.
func (e *UnknownHostError) Summary() string {
	return "jump host key unknown: " + e.OfferedFor
}

// Summary is the reason in a few words, for an SMS.
func (e *HostKeyChangedError) Summary() string {
	return "jump HOST KEY CHANGED, now " + ssh.FingerprintSHA256(e.Offered)
}

// Summary is the reason in a few words, for an SMS.
func (e *HostKeyRevokedError) Summary() string { return "jump host key REVOKED" }

// HostKeyChangedError means the server offered a key that known_hosts does
// not hold for the jump host: possibly a man in the middle.
type HostKeyChangedError struct {
	Host    string
	Offered ssh.PublicKey
	Want    []knownhosts.KnownKey
}

func (e *HostKeyChangedError) Error() string {
	var want []string
	for _, k := range e.Want {
		want = append(want, fmt.Sprintf("%s %s (%s:%d)", KeyTypeName(k.Key), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
	}
	return fmt.Sprintf("tunnel: host key: REMOTE HOST IDENTIFICATION HAS CHANGED for %s: the server offered %s key %s, known_hosts expects %s; refusing to connect (someone may be intercepting the connection, or the jump host's key was replaced)",
		e.Host, KeyTypeName(e.Offered), ssh.FingerprintSHA256(e.Offered), strings.Join(want, ", "))
}

// HostKeyRevokedError means the server offered a key marked @revoked.
type HostKeyRevokedError struct {
	Host    string
	Revoked knownhosts.KnownKey
}

func (e *HostKeyRevokedError) Error() string {
	return fmt.Sprintf("tunnel: host key: %s offered a REVOKED %s key %s (%s:%d); refusing to connect",
		e.Host, KeyTypeName(e.Revoked.Key), ssh.FingerprintSHA256(e.Revoked.Key), e.Revoked.Filename, e.Revoked.Line)
}

// IsHostKeyError reports whether err is an unknown, changed or revoked host
// key: retrying cannot fix those, the owner has to.
func IsHostKeyError(err error) bool { return hostKeyError(err) != nil }

// hostKeyError digs a host key error out of x/crypto's handshake error,
// so the caller gets the clear message without "ssh: handshake failed".
func hostKeyError(err error) error {
	var u *UnknownHostError
	var c *HostKeyChangedError
	var r *HostKeyRevokedError
	switch {
	case errors.As(err, &u):
		return u
	case errors.As(err, &c):
		return c
	case errors.As(err, &r):
		return r
	}
	return nil
}

// KeyTypeName names a key type the way OpenSSH does (ssh-keygen -l, its
// host key warnings): ED25519, ECDSA, RSA, and the security-key kinds.
func KeyTypeName(k ssh.PublicKey) string {
	if k == nil {
		return "?"
	}
	switch t := k.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ED25519"
	case t == ssh.KeyAlgoSKED25519:
		return "ED25519-SK"
	case t == ssh.KeyAlgoSKECDSA256:
		return "ECDSA-SK"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ECDSA"
	case t == ssh.KeyAlgoRSA:
		return "RSA"
	default:
		return t
	}
}

// hostKeys checks the jump host's key against one known_hosts file.
type hostKeys struct {
	file     string
	host     string // normalized name for messages
	callback ssh.HostKeyCallback
	algos    []string // HostKeyAlgorithms for this host, preferred first
}

func loadHostKeys(file, jumpHost string) (*hostKeys, error) {
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("tunnel: known hosts: %w", err)
	}
	hk := &hostKeys{file: file, host: knownhosts.Normalize(jumpHost), callback: cb}
	hk.algos, err = probeAlgorithms(cb, jumpHost)
	if err != nil {
		return nil, err
	}
	return hk, nil
}

// probeAlgorithms asks the callback about a key no host can have: the
// KeyError lists every key known_hosts holds for the host, and their types
// are the only host key algorithms worth negotiating. Without this x/crypto
// prefers ECDSA, and a host known only by its ed25519 key reads as a changed
// key (golang/go#29286).
func probeAlgorithms(cb ssh.HostKeyCallback, jumpHost string) ([]string, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("tunnel: known hosts: probe key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("tunnel: known hosts: probe key: %w", err)
	}
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22} // TEST-NET, never matched by name
	err = cb(jumpHost, remote, signer.PublicKey())
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		// Unknown host errors come back as a KeyError too; anything else
		// is a broken file or address.
		if err == nil {
			return nil, errors.New("tunnel: known hosts: probe key accepted (wildcard entry?)")
		}
		return nil, fmt.Errorf("tunnel: known hosts: %w", err)
	}
	have := map[string]bool{}
	for _, k := range ke.Want {
		have[k.Key.Type()] = true
	}
	return algorithmsFor(have), nil
}

// algorithmsFor maps key types to host key algorithms in preference order.
// RSA keys are used with SHA-2 signatures only. An empty result (unknown
// host) leaves x/crypto's defaults, so the server's key can be named in the
// error.
func algorithmsFor(have map[string]bool) []string {
	order := []struct {
		keyType string
		algos   []string
	}{
		{ssh.KeyAlgoED25519, []string{ssh.KeyAlgoED25519}},
		{ssh.KeyAlgoSKED25519, []string{ssh.KeyAlgoSKED25519}},
		{ssh.KeyAlgoECDSA256, []string{ssh.KeyAlgoECDSA256}},
		{ssh.KeyAlgoECDSA384, []string{ssh.KeyAlgoECDSA384}},
		{ssh.KeyAlgoECDSA521, []string{ssh.KeyAlgoECDSA521}},
		{ssh.KeyAlgoSKECDSA256, []string{ssh.KeyAlgoSKECDSA256}},
		{ssh.KeyAlgoRSA, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}},
	}
	var out []string
	for _, o := range order {
		if have[o.keyType] {
			out = append(out, o.algos...)
		}
	}
	return out
}

// check is the ssh.HostKeyCallback: it turns knownhosts' errors into the
// typed errors above.
func (h *hostKeys) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.callback(hostname, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return &HostKeyRevokedError{Host: h.host, Revoked: re.Revoked}
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return &UnknownHostError{Host: h.host, File: h.file, Offered: key, OfferedFor: ssh.FingerprintSHA256(key)}
	case errors.As(err, &ke):
		return &HostKeyChangedError{Host: h.host, Offered: key, Want: ke.Want}
	default:
		return fmt.Errorf("tunnel: host key: %w", err)
	}
}
