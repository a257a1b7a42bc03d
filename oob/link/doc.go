// Package link brings up the out-of-band cellular link and proves that
// traffic to the jump host leaves through it (lifecycle steps 3, 4 and the
// link's part of 8 in the spec).
//
// [Link.Up] runs the dialer (pppd, or FreeBSD's ppp -foreground) in its own
// process group, waits for its interface to be up, running and addressed
// (not operstate UP: a PPP link reads UNKNOWN), resolves the jump host over
// the link, pins a host route to it via the interface, asks the kernel
// which interface it would use for the jump host (never restricted to the
// link's) and connects to the jump host with a socket bound to the link.
// Any failure is a failed try, taken down completely before the next one.
//
// The [Path] it returns carries a [net.Dialer] (bound to the link, with
// a resolver that asks the link's DNS servers over the link) for the tunnel
// and the notifications, the interface's byte counters, and Done/Err for a
// link that drops. [Path.Down] removes the route, stops the dialer
// (SIGTERM, SIGKILL after a grace period) and waits for the interface to go.
//
// Crash safety: everything is recorded in a [Journal] before it exists, and
// [Cleanup] undoes a crashed run's leftovers at start-up, stopping a process
// only if its PID, start time and command line all match the record.
//
// The AT session of a single-port modem is the caller's: close it in
// [Hooks].BeforeDial, re-open it in [Hooks].AfterDown.
//
// Linux uses rtnetlink (github.com/vishvananda/netlink) and SO_BINDTODEVICE.
// FreeBSD (see README.md) polls the interface, uses route(8) and binds the
// link's local address; it cross-builds but the tests here do not run it.
package link
