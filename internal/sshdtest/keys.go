package sshdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// GenerateKey makes a key pair with ssh-keygen in dir: the private key at
// dir/name (encrypted when passphrase is not empty) and the public key at
// dir/name.pub. typ is "ed25519", "ecdsa" or "rsa". It returns the public
// key and the private key's path.
func GenerateKey(t testing.TB, dir, name, typ, passphrase string) (ssh.PublicKey, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	args := []string{"-q", "-t", typ, "-N", passphrase, "-C", "sshdtest", "-f", path}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("sshdtest: ssh-keygen %s: %v: %s", typ, err, out)
	}
	pub, err := readPublicKey(path + ".pub")
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return pub, path
}

func readPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return pub, nil
}

// SSHArgs is the argv of an OpenSSH client that uses only the given key and
// known_hosts file, never prompts and checks host keys strictly; append the
// remote command.
func SSHArgs(identity, knownHosts string, port int, user, host string) []string {
	return []string{"ssh", "-F", "/dev/null",
		"-i", identity, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=20",
		"-o", "LogLevel=ERROR",
		"-p", fmt.Sprint(port), user + "@" + host}
}

// WriteFile writes content to dir/name and returns the path.
func WriteFile(t testing.TB, dir, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return path
}
