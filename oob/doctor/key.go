package doctor

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/oobd/oobd/internal/secretfile"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/tunnel"
)

// The identity key: safe to hold a secret (the secretfile check), not
// encrypted, and what the jump host must be told of it: its fingerprint
// and the authorized_keys line.

func (d *Doctor) identity(cfg *config.Config, r *Report) {
	path := cfg.Tunnel.IdentityFile
	b, err := secretfile.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.fail("identity key", path+": no such file", "make one: "+keygen(path))
		return
	case errors.Is(err, secretfile.ErrUnsafe):
		r.fail("identity key", err.Error(), "chmod 600 "+path+"; chown root "+path)
		return
	case err != nil:
		r.fail("identity key", path+": "+unwrapAll(err).Error(), "make it readable by root, or make a new one: "+keygen(path))
		return
	}
	signer, err := ssh.ParsePrivateKey(b)
	var pm *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &pm):
		r.fail("identity key", path+": "+tunnel.ErrEncryptedKey.Error(), "remove the passphrase: ssh-keygen -p -N '' -f "+path)
		return
	case err != nil:
		r.fail("identity key", path+": not a private key: "+err.Error(), "make one: "+keygen(path))
		return
	}
	pub := signer.PublicKey()
	comment := pubComment(path+".pub", pub)
	mode := "owner-only"
	if fi, err := os.Stat(path); err == nil {
		mode = fmt.Sprintf("mode %04o", fi.Mode().Perm())
	}
	res := r.pass("identity key", fmt.Sprintf("%s, %s, %s", path, mode, tunnel.KeyTypeName(pub)))
	res.More = []string{
		"fingerprint: " + Fingerprint(pub, comment),
		"on the jump host, one line in ~" + cfg.Tunnel.User + "/.ssh/authorized_keys:",
		"  " + AuthorizedKeysLine(pub, comment, cfg.Tunnel.Forwards),
	}
}

// keygen is the command that makes an identity key at path.
func keygen(path string) string {
	return "ssh-keygen -t ed25519 -N '' -C oobd@$(hostname) -f " + path
}

// pubComment is the comment of the public key file beside the private
// key, when it holds the same key.
func pubComment(path string, key ssh.PublicKey) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil || !bytes.Equal(pub.Marshal(), key.Marshal()) {
		return ""
	}
	return comment
}

// Fingerprint is the key's fingerprint as `ssh-keygen -l` prints it:
// bits, SHA256, comment (when there is one) and type.
func Fingerprint(key ssh.PublicKey, comment string) string {
	parts := []string{strconv.Itoa(keyBits(key)), ssh.FingerprintSHA256(key)}
	if comment != "" {
		parts = append(parts, comment)
	}
	parts = append(parts, "("+tunnel.KeyTypeName(key)+")")
	return strings.Join(parts, " ")
}

func keyBits(key ssh.PublicKey) int {
	if ck, ok := key.(ssh.CryptoPublicKey); ok {
		switch k := ck.CryptoPublicKey().(type) {
		case *rsa.PublicKey:
			return k.N.BitLen()
		case *ecdsa.PublicKey:
			return k.Curve.Params().BitSize
		}
	}
	return 256 // ed25519, and the security keys' P-256 and ed25519
}

// AuthorizedKeysLine is the line for the jump host's authorized_keys that
// lets the key do exactly what the tunnel does: listen on each forward's
// remote end (permitlisten), reach the jump host's own end of each for the
// self-check (permitopen), and nothing else (restrict, no command).
func AuthorizedKeysLine(key ssh.PublicKey, comment string, forwards []tunnel.Forward) string {
	line := AuthorizedKeyOptions(forwards) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if comment != "" {
		line += " " + comment
	}
	return line
}

// AuthorizedKeyOptions are the options of AuthorizedKeysLine. Port 0 (the
// jump host picks one) needs the wildcard port: prefer fixed ports.
func AuthorizedKeyOptions(forwards []tunnel.Forward) string {
	opts := []string{"restrict", "port-forwarding"}
	var listen, open []string
	seen := map[string]bool{}
	for _, f := range forwards {
		host, port, err := net.SplitHostPort(f.Remote)
		if err != nil {
			continue // check-config names it
		}
		if port == "0" {
			port = "*"
		}
		l := net.JoinHostPort(host, port)
		if host == "" {
			l = port // sshd reads a bare port as any listen host
		}
		o := net.JoinHostPort(tunnel.SelfCheckHost(host), port)
		if !seen["l"+l] {
			seen["l"+l] = true
			listen = append(listen, `permitlisten="`+l+`"`)
		}
		if !seen["o"+o] {
			seen["o"+o] = true
			open = append(open, `permitopen="`+o+`"`)
		}
	}
	opts = append(opts, listen...)
	opts = append(opts, open...)
	opts = append(opts, `command="/bin/false"`)
	return strings.Join(opts, ",")
}

// unwrapAll drops the operation and path a file or exec error repeats:
// the caller names them.
func unwrapAll(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
