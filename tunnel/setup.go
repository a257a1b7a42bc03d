package tunnel

import "golang.org/x/crypto/ssh"

// What the setup checks (oobd doctor) take from the tunnel, so that they
// check what the tunnel will do rather than a copy of it.

// HostKeyCheck is how the tunnel checks the jump host's key, for a caller
// that makes its own handshake: the callback accepts only a key
// knownHostsFile holds for jumpHost ("host:port") and fails with
// *UnknownHostError, *HostKeyChangedError or *HostKeyRevokedError; algos
// are the HostKeyAlgorithms to offer, preferred first, from the key types
// known_hosts holds for the host (none when it holds none: the host is
// unknown).
func HostKeyCheck(knownHostsFile, jumpHost string) (check ssh.HostKeyCallback, algos []string, err error) {
	hk, err := loadHostKeys(knownHostsFile, jumpHost)
	if err != nil {
		return nil, nil, err
	}
	return hk.check, hk.algos, nil
}

// SelfCheckHost is the host the self-check asks the jump host to connect
// to (direct-tcpip) for a forward whose remote host is remoteHost: the
// jump host's authorized_keys must permitopen it with the bound port.
func SelfCheckHost(remoteHost string) string { return jumpSideHost(remoteHost) }
