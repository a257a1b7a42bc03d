package tunnel

import "golang.org/x/crypto/ssh"

// HostKeyCheck is how the tunnel checks the jump host's key, for a caller
// that makes its own handshake (oobd doctor): the callback accepts only a
// key knownHostsFile holds for jumpHost ("host:port") and fails with
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
