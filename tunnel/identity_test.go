package tunnel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/tunnel"
	"github.com/oobd/oobd/tunnel/jumphost"
)

// TestIdentityKeyTypes: ed25519, ECDSA and RSA identity files (made by
// ssh-keygen) authenticate; an encrypted one is a clear error, no prompt.
func TestIdentityKeyTypes(t *testing.T) {
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			pub, path := sshdtest.GenerateKey(t, dir, "id_"+typ, typ, "")
			jh, err := jumphost.Start(jumphost.WithAuthorizedKeys(pub))
			if err != nil {
				t.Fatal(err)
			}
			defer jh.Close()
			tun, err := tunnel.New(tunnel.Config{
				JumpHost: jh.Addr(), User: "oob", IdentityFile: path,
				KnownHostsFile: writeFile(t, dir, "kh", jh.KnownHostsLine()),
				Forwards:       []tunnel.Forward{{Remote: "localhost:0", Local: "127.0.0.1:22"}},
			}, dial)
			if err != nil {
				t.Fatal(err)
			}
			defer tun.Close()
			if err := tun.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("encrypted", func(t *testing.T) {
		dir := t.TempDir()
		_, path := sshdtest.GenerateKey(t, dir, "id_enc", "ed25519", "correct horse")
		_, err := tunnel.New(tunnel.Config{
			JumpHost: "127.0.0.1:22", User: "oob", IdentityFile: path,
			KnownHostsFile: writeFile(t, dir, "kh", ""),
			Forwards:       []tunnel.Forward{{Remote: "localhost:0", Local: "127.0.0.1:22"}},
		}, dial)
		if !errors.Is(err, tunnel.ErrEncryptedKey) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err %v, want ErrEncryptedKey naming %s", err, path)
		}
	})
	t.Run("missing files", func(t *testing.T) {
		_, err := tunnel.New(tunnel.Config{
			JumpHost: "127.0.0.1:22", User: "oob", IdentityFile: "/nonexistent/id", KnownHostsFile: "/nonexistent/kh",
			Forwards: []tunnel.Forward{{Remote: "localhost:0", Local: "127.0.0.1:22"}},
		}, dial)
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/id") {
			t.Fatalf("err %v, want the identity file named", err)
		}
	})
}
