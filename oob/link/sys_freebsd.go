//go:build freebsd

package link

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// freebsdOS is osLink over the base system's tools: ifconfig(8),
// route(8), netstat(1) and ps(1). Only the running of them is here; what
// their output means is read in files that build and are tested on every
// OS, against fixtures made from FreeBSD's sources (testdata/freebsd).
type freebsdOS struct{}

func newOSLink() osLink { return freebsdOS{} }

// pollInterval is how often the interface is looked at: no notifications
// the link can use, and a quarter second is nothing next to a PPP
// negotiation.
const pollInterval = 250 * time.Millisecond

// run runs a base-system tool with a fixed environment and returns its
// standard output and error.
func run(name string, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = toolEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

func (freebsdOS) watch(name string) (ifaceWatch, error) {
	return newPollWatch(name, pollInterval, inspectIfconfig), nil
}

func inspectIfconfig(name string) (ifaceState, error) {
	out, errb, err := run("ifconfig", name)
	if err != nil {
		if ifconfigMissing(errb) {
			return ifaceState{}, nil
		}
		return ifaceState{}, fmt.Errorf("ifconfig %s: %w: %s", name, err, strings.TrimSpace(string(errb)))
	}
	return parseIfconfig(name, out)
}

func (o freebsdOS) addRoute(dst netip.Addr, li linkInfo) (bool, error) {
	out, errb, err := run("route", "-n", "add", "-host", dst.String(), "-interface", li.name)
	if err == nil {
		return true, nil
	}
	if routeThereAlready(out, func() (string, error) { return o.routeVia(dst) }, li.name) {
		return false, nil
	}
	return false, fmt.Errorf("route add: %w: %s", err, strings.TrimSpace(string(out)+" "+string(errb)))
}

func (freebsdOS) delRoute(dst netip.Addr, ifname string) error {
	out, errb, err := run("route", "-n", "delete", "-host", dst.String(), "-interface", ifname)
	if err == nil || routeDeleteGone(append(out, errb...)) {
		return nil
	}
	return fmt.Errorf("route delete: %w: %s", err, strings.TrimSpace(string(out)+" "+string(errb)))
}

func (freebsdOS) routeVia(dst netip.Addr) (string, error) {
	out, errb, err := run("route", "-n", "get", dst.String())
	if err != nil {
		return "", fmt.Errorf("route get: %w: %s", err, strings.TrimSpace(string(errb)))
	}
	ifname := parseRouteGet(out)
	if ifname == "" {
		return "", errors.New("route get: no interface in output")
	}
	return ifname, nil
}

func (freebsdOS) routeChanges() (<-chan struct{}, func(), error) {
	ch, stop := pollChanges(pollInterval)
	return ch, stop, nil
}

// dialer binds the link's local address: FreeBSD has no SO_BINDTODEVICE.
func (freebsdOS) dialer(li linkInfo) *net.Dialer { return boundDialer(li, nil) }

// rebind has nothing to do: a socket bound to the link's address lives on
// once a new link (tun0 or tun1 alike) has that address again.
func (freebsdOS) rebind(net.Conn, linkInfo) error { return nil }

func (freebsdOS) counters(li linkInfo) (byteCounts, error) {
	out, errb, err := run("netstat", "--libxo", "json", "-I", li.name, "-b", "-n")
	if err != nil {
		return byteCounts{}, fmt.Errorf("netstat -I %s: %w: %s", li.name, err, strings.TrimSpace(string(errb)))
	}
	return parseNetstat(li.name, out)
}

func (freebsdOS) processes() ([]procInfo, error) {
	out, errb, err := run("ps", psArgs()...)
	if err != nil {
		return nil, fmt.Errorf("ps: %w: %s", err, strings.TrimSpace(string(errb)))
	}
	return parsePS(out)
}

// signalGroup checks lead with ps(1) just before signalling. There is no
// pidfd to pin it: a PID reused in the instant between is not excluded.
func (o freebsdOS) signalGroup(pgid int, lead *procInfo, sig syscall.Signal) (bool, error) {
	if lead != nil {
		procs, err := o.processes()
		if err != nil {
			return false, err
		}
		if !leadAlive(procs, *lead) {
			return false, nil
		}
		if err := syscall.Kill(lead.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return false, err
		}
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, err
	}
	return true, nil
}
