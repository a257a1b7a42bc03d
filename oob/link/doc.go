// Package link brings up the out-of-band cellular link and proves that
// traffic to the jump host leaves through it (lifecycle steps 3, 4 and the
// link's part of 8 in the spec).
//
// [Link.Up] runs the dialer (pppd, FreeBSD's ppp -foreground, or a script)
// in its own process group, waits for its interface to be up, running and
// addressed (not operstate UP: a PPP link reads UNKNOWN), resolves the jump
// host over the link, pins a host route to it via the interface, asks the
// kernel which interface it would use for the jump host (never restricted
// to the link's) and connects to the jump host with a socket bound to the
// link. Any failure is a failed try, taken down completely before the next
// one.
//
// The [Path] it returns is the session's handle: DialContext dials through
// the link only (bound socket, the link's DNS servers over the link, the
// jump host at the address the proof pinned), Bytes counts the link's
// traffic, Done and Err report a link that drops. [Path.Down] removes the
// route, stops the dialer's process group (SIGTERM, SIGKILL after a grace
// period) and waits for the interface to go.
//
// Crash safety: everything is recorded in a [Journal] before it exists,
// and [Link.Cleanup] undoes a crashed run's leftovers at start-up. The
// dialer is identified by its PID and start time only (a script's command
// line starts with its interpreter) and stopped with its whole process
// group, even if the group's leader is gone. A clean-up that fails, at
// start-up or after a try or Down, stays recorded and is retried before
// every dial, which waits for it.
//
// The OS is behind a private interface: rtnetlink, SO_BINDTODEVICE and
// /proc on Linux; ifconfig, route, netstat and ps on FreeBSD, whose output
// is read by code that builds and is tested on every OS (see README.md).
package link
