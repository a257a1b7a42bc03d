//go:build !linux

package agent

import "net"

// rebindToInterface has nothing to do where the link binds its sockets to
// its address, not to its interface (FreeBSD has no SO_BINDTODEVICE): a
// socket bound to the address lives on once a new link (tun0 or tun1
// alike) has that address again.
func rebindToInterface(net.Conn, string) error { return nil }
