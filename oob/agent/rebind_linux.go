package agent

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// rebindToInterface binds the socket under c to the interface ifname, as
// the link's dialer binds the sockets it makes (SO_BINDTODEVICE).
//
// The binding holds the interface's index, resolved from the name when it
// is made, not the name. A redial makes a new ppp0, with a new index: a
// socket bound to the old one can send nothing (its route lookups fail)
// and the kernel does not match what arrives for it on the new one, but
// answers it with a reset, which ends the jump host's side of the session.
// Bound again to the new ppp0 (the name resolved in the socket's own
// network namespace), it carries on when the new link has its address.
func rebindToInterface(c net.Conn, ifname string) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("rebind to %s: %T has no socket", ifname, c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("rebind to %s: %w", ifname, err)
	}
	var berr error
	if err := rc.Control(func(fd uintptr) { berr = unix.BindToDevice(int(fd), ifname) }); err != nil {
		return fmt.Errorf("rebind to %s: %w", ifname, err)
	}
	if berr != nil {
		return fmt.Errorf("rebind to %s: %w", ifname, berr)
	}
	return nil
}
