//go:build linux

// Package agenttest runs the real oobd binary the way the end-to-end tests
// do, for the benches: `oobd run` in the agent namespace of a netnstest
// topology, the modem simulator on a pty in the calling process, the test
// dialer (fakeppp) as link.up_command, a real OpenSSH sshd as the jump host
// in the jump namespace and the box's own sshd in the agent namespace. It
// also runs the reference clients (ssh -R, autossh) in the same topology,
// over the same test dialer, so that oobd and its reference are measured
// on the same path.
//
// Everything it starts is stopped when the test or benchmark ends (its
// Cleanup), namespaces included; a caller that must survive SIGINT (a
// bench run stopped with Ctrl-C) turns the signal into a cancelled context
// and fails, so that the cleanups run.
package agenttest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// The world's fixed names and numbers.
const (
	// Owner is the allowlisted sender; Secret is the trigger secret.
	Owner  = "+46701234567"
	Secret = "Tr1gger-W0rd-77"
	// AgentPort is oobd's forward on the jump host's loopback.
	AgentPort = 31337
	// RefPort is the reference client's forward (ssh -R, autossh).
	RefPort = 31338
	// BoxPort is the box's own sshd, on 127.0.0.1 in the agent namespace:
	// what every forward leads to.
	BoxPort = 2222
	// Keepalive is the client keepalive every world uses: oobd's default
	// tunnel.keepalive, and ServerAliveInterval for the references.
	Keepalive = 15
	// ServerAliveCountMax is the references' count (oobd gives up after 3
	// missed keepalives too).
	ServerAliveCountMax = 3
	// Cipher is x/crypto's first choice, which oobd's tunnel negotiates
	// with OpenSSH's sshd; the references are pinned to it.
	Cipher = "aes128-gcm@openssh.com"
)

// Binaries are the programs a world runs.
type Binaries struct {
	OOBD    string // cmd/oobd
	FakePPP string // oob/link/testdata/fakeppp
}

// Build builds oobd and fakeppp into dir, from the module that holds the
// current directory.
func Build(ctx context.Context, dir string) (Binaries, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("agenttest: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if root == "." || root == "" {
		return Binaries{}, fmt.Errorf("agenttest: not inside the oobd module")
	}
	b := Binaries{OOBD: filepath.Join(dir, "oobd"), FakePPP: filepath.Join(dir, "fakeppp")}
	for _, p := range [][2]string{{b.OOBD, "./cmd/oobd"}, {b.FakePPP, "./oob/link/testdata/fakeppp"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", p[0], p[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("agenttest: go build %s: %w\n%s", p[1], err, out)
		}
	}
	return b, nil
}
