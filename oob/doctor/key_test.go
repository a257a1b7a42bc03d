package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/tunnel"
)

// The fingerprint is the one ssh-keygen -l prints for the same key.
func TestFingerprintIsSSHKeygens(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		pub, path := sshdtest.GenerateKey(t, dir, "id_"+typ, typ, "")
		out, err := exec.Command("ssh-keygen", "-l", "-f", path+".pub").Output()
		if err != nil {
			t.Fatalf("ssh-keygen -l: %v", err)
		}
		if got, want := Fingerprint(pub, pubComment(path+".pub", pub)), strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: Fingerprint = %q, ssh-keygen -l says %q", typ, got, want)
		}
	}
}

func TestAuthorizedKeyOptions(t *testing.T) {
	const head, tail = `restrict,port-forwarding,`, `,command="/bin/false"`
	tests := []struct {
		forwards []tunnel.Forward
		want     string
	}{
		{[]tunnel.Forward{{Remote: "localhost:31337", Local: "localhost:22"}},
			`permitlisten="localhost:31337",permitopen="localhost:31337"`},
		{[]tunnel.Forward{{Remote: "localhost:31337", Local: "localhost:22"}, {Remote: "localhost:31338", Local: "127.0.0.1:2323"}},
			`permitlisten="localhost:31337",permitlisten="localhost:31338",permitopen="localhost:31337",permitopen="localhost:31338"`},
		// The jump host picks the port: any port, on that host only.
		{[]tunnel.Forward{{Remote: "localhost:0", Local: "localhost:22"}},
			`permitlisten="localhost:*",permitopen="localhost:*"`},
		// A wildcard bind is self-checked on the jump host's loopback.
		{[]tunnel.Forward{{Remote: "0.0.0.0:31337", Local: "localhost:22"}},
			`permitlisten="0.0.0.0:31337",permitopen="127.0.0.1:31337"`},
		{[]tunnel.Forward{{Remote: ":31337", Local: "localhost:22"}},
			`permitlisten="31337",permitopen="127.0.0.1:31337"`},
		{[]tunnel.Forward{{Remote: "[::]:31337", Local: "localhost:22"}},
			`permitlisten="[::]:31337",permitopen="[::1]:31337"`},
		// The same remote twice is permitted once.
		{[]tunnel.Forward{{Remote: "localhost:1", Local: "localhost:22"}, {Remote: "localhost:1", Local: "localhost:23"}},
			`permitlisten="localhost:1",permitopen="localhost:1"`},
	}
	for _, tt := range tests {
		if got := AuthorizedKeyOptions(tt.forwards); got != head+tt.want+tail {
			t.Errorf("AuthorizedKeyOptions(%v) =\n%s\nwant\n%s", tt.forwards, got, head+tt.want+tail)
		}
	}
}

// The authorized_keys line doctor prints, installed on a real sshd, lets
// the tunnel do what a session does (listen, and the self-check through
// the jump host's end of each forward), and nothing less: with its
// permitopen naming another port the self-check is refused, so the test
// can tell.
func TestAuthorizedKeysLineCarriesATunnel(t *testing.T) {
	dir := t.TempDir()
	pub, keyPath := sshdtest.GenerateKey(t, dir, "id_ed25519", "ed25519", "")
	box := bannerServer(t)
	fixed := sshdtest.FreePort(t)
	tests := []struct {
		name     string
		remote   string
		swap     [2]string // an option replaced in the line
		selfTest bool      // the self-check passes
	}{
		{"fixed port", fmt.Sprintf("localhost:%d", fixed), [2]string{}, true},
		{"port chosen by the jump host", "localhost:0", [2]string{}, true},
		{"loopback address", fmt.Sprintf("127.0.0.1:%d", fixed), [2]string{}, true},
		{"permitopen for another port", fmt.Sprintf("localhost:%d", fixed),
			[2]string{fmt.Sprintf(`permitopen="localhost:%d"`, fixed), `permitopen="localhost:1"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forwards := []tunnel.Forward{{Remote: tt.remote, Local: box}}
			opts := AuthorizedKeyOptions(forwards)
			if tt.swap[0] != "" {
				if !strings.Contains(opts, tt.swap[0]) {
					t.Fatalf("no %s in %s", tt.swap[0], opts)
				}
				opts = strings.Replace(opts, tt.swap[0], tt.swap[1], 1)
			}
			sshd := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []sshdtest.AuthorizedKey{{Options: opts, Key: pub}}})
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(kh, []byte(sshd.KnownHostsLine()), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var nd net.Dialer
			tun, err := tunnel.Open(ctx, tunnel.Config{JumpHost: sshd.Addr, User: sshd.User, IdentityFile: keyPath,
				KnownHostsFile: kh, HandshakeTimeout: 5 * time.Second, Forwards: forwards}, nd.DialContext)
			if err != nil {
				t.Fatalf("tunnel with %s: %v\nsshd log:\n%s", opts, err, sshd.LogTail(20))
			}
			defer tun.Close()
			res, err := tun.SelfCheck(ctx)
			var sce *tunnel.SelfCheckError
			switch {
			case tt.selfTest && (err != nil || len(res) != 1 || !strings.HasPrefix(res[0].Banner, "SSH-2.0-box")):
				t.Errorf("self-check with %s: %+v, %v", opts, res, err)
			case !tt.selfTest && !errors.As(err, &sce):
				t.Errorf("self-check with %s: %v, want it refused", opts, err)
			}
		})
	}
}

// bannerServer is the box's service: it greets like an SSH server and
// keeps the connection open.
func bannerServer(t *testing.T) string { return greeter(t, "SSH-2.0-box\r\n", false) }
