//go:build linux

// Command fakeppp stands in for pppd in the link tests: it brings up a veth
// named like a PPP interface whose far end lives in a "carrier" network
// namespace that only this process holds, so the interface disappears
// whenever the process ends, even by SIGKILL, as kernel PPP removes ppp0
// when pppd dies. The carrier routes on to the jump namespace given by
// -jump-netns. Both ends are NOARP with the same MAC address, so device
// routes work as on a point-to-point link.
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

type options struct {
	ifname, local, remote  string
	jumpNetns              string
	uplinkLocal, uplinkRem string
	failFirst              int
	counter                string
	noConnect              bool
	dieAfter, delay        time.Duration
	routes                 string
	dns                    string
	resolvConf             string
}

func main() {
	var o options
	flag.StringVar(&o.ifname, "ifname", "ppp0", "interface name")
	flag.StringVar(&o.local, "local", "10.64.0.2", "our address")
	flag.StringVar(&o.remote, "remote", "10.64.0.1", "the peer's address")
	flag.StringVar(&o.jumpNetns, "jump-netns", "", "path of the namespace the carrier routes to (empty: none)")
	flag.StringVar(&o.uplinkLocal, "uplink-local", "10.65.0.2", "carrier's address toward the jump namespace")
	flag.StringVar(&o.uplinkRem, "uplink-remote", "10.65.0.1", "jump namespace's address toward the carrier")
	flag.IntVar(&o.failFirst, "fail-first", 0, "fail the first N runs (counted in -counter)")
	flag.StringVar(&o.counter, "counter", "", "file counting runs, for -fail-first")
	flag.BoolVar(&o.noConnect, "no-connect", false, "come up, but the carrier drops all traffic")
	flag.DurationVar(&o.dieAfter, "die-after", 0, "hang up this long after coming up (0: never; SIGUSR1 hangs up at once)")
	flag.DurationVar(&o.delay, "delay", 0, "take this long to come up")
	flag.StringVar(&o.routes, "route", "", "comma-separated hosts to route via the interface once up (like an ip-up script)")
	flag.StringVar(&o.dns, "dns", "", "comma-separated DNS servers to write to -resolv-conf (usepeerdns)")
	flag.StringVar(&o.resolvConf, "resolv-conf", "", "where to write -dns")
	flag.Parse()
	os.Exit(run(o))
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func run(o options) int {
	// Like pppd, outlive a reader that went away (a killed agent).
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	// SIGUSR1 stands for the carrier hanging up (-die-after, on demand).
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGUSR1)
	start := time.Now()
	terminated := func(s os.Signal) int {
		say("Terminating on signal %d", s.(syscall.Signal))
		say("Connect time %.1f minutes.", time.Since(start).Minutes())
		say("Connection terminated.")
		return 5
	}

	if o.counter != "" {
		n, err := bump(o.counter)
		if err != nil {
			say("fakeppp: counter: %v", err)
			return 1
		}
		if n <= o.failFirst {
			say("Connect script failed (fake failure %d of %d)", n, o.failFirst)
			return 8
		}
	}
	say("Serial connection established.")
	if o.delay > 0 {
		t := time.NewTimer(o.delay)
		select {
		case <-t.C:
		case s := <-sigs:
			return terminated(s)
		}
	}
	// pppd's usepeerdns writes the servers before the interface is up.
	if o.resolvConf != "" && o.dns != "" {
		var b strings.Builder
		for _, s := range strings.Split(o.dns, ",") {
			fmt.Fprintf(&b, "nameserver %s\n", s)
			say("primary   DNS address %s", s)
		}
		if err := os.WriteFile(o.resolvConf, []byte(b.String()), 0o644); err != nil {
			say("fakeppp: %v", err)
		}
	}
	say("Using interface %s", o.ifname)
	say("Connect: %s <--> /dev/ttyFAKE", o.ifname)
	// The carrier namespace must be held by this process alone: created and
	// left on a locked thread, kept only as a file descriptor.
	carrier, err := up(o)
	if carrier.IsOpen() {
		defer carrier.Close()
	}
	if err != nil {
		say("fakeppp: %v", err)
		say("Connection terminated.")
		return 1
	}
	say("local  IP address %s", o.local)
	say("remote IP address %s", o.remote)
	var die <-chan time.Time
	if o.dieAfter > 0 {
		die = time.After(o.dieAfter)
	}
	select {
	case s := <-sigs:
		return terminated(s)
	case <-die:
		say("Modem hangup")
		say("Connection terminated.")
		return 16
	case <-hangup:
		say("Modem hangup")
		say("Connection terminated.")
		return 16
	}
}

// bump increments the run counter and returns this run's number.
func bump(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	n++
	return n, os.WriteFile(path, []byte(strconv.Itoa(n)), 0o644)
}

// up brings the interface up. The returned carrier namespace handle must
// stay open for as long as the link should exist.
func up(o options) (netns.NsHandle, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return netns.None(), err
	}
	defer orig.Close()
	carrier, err := netns.New() // the thread is now in it
	if err != nil {
		return netns.None(), fmt.Errorf("new netns: %w", err)
	}
	fwd := "1"
	if o.noConnect {
		fwd = "0"
	}
	var serr error
	for _, kv := range [][2]string{
		{"net/ipv4/ip_forward", fwd},
		{"net/ipv4/conf/all/rp_filter", "0"},
		{"net/ipv4/conf/default/rp_filter", "0"},
	} {
		if err := os.WriteFile("/proc/sys/"+kv[0], []byte(kv[1]), 0o644); err != nil {
			serr = errors.Join(serr, err)
		}
	}
	if err := netns.Set(orig); err != nil {
		return carrier, fmt.Errorf("back to own netns: %w", err) // thread stays locked
	}
	runtime.UnlockOSThread()
	if serr != nil {
		return carrier, fmt.Errorf("carrier sysctl: %w", serr)
	}

	here, err := netlink.NewHandleAt(orig)
	if err != nil {
		return carrier, err
	}
	defer here.Close()
	car, err := netlink.NewHandleAt(carrier)
	if err != nil {
		return carrier, err
	}
	defer car.Close()

	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = (mac[0] | 0x02) &^ 0x01 // locally administered, unicast
	tmp := fmt.Sprintf("fk%d", os.Getpid()%100000000)
	v := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: tmp, HardwareAddr: mac},
		PeerName:         "pppc",
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsFd(carrier),
	}
	if err := here.LinkAdd(v); err != nil {
		return carrier, fmt.Errorf("veth: %w", err)
	}
	lo, err := car.LinkByName("lo")
	if err == nil {
		err = car.LinkSetUp(lo)
	}
	if err != nil {
		return carrier, fmt.Errorf("carrier lo: %w", err)
	}
	peer, err := car.LinkByName("pppc")
	if err != nil {
		return carrier, err
	}
	if err := car.LinkSetARPOff(peer); err != nil {
		return carrier, err
	}
	if err := car.AddrAdd(peer, ptp(o.remote, o.local)); err != nil {
		return carrier, fmt.Errorf("carrier address: %w", err)
	}
	if err := car.LinkSetUp(peer); err != nil {
		return carrier, err
	}
	if o.jumpNetns != "" {
		if err := uplink(o, car, carrier); err != nil {
			return carrier, fmt.Errorf("uplink: %w", err)
		}
	}
	near, err := here.LinkByName(tmp)
	if err != nil {
		return carrier, err
	}
	if err := here.LinkSetARPOff(near); err != nil {
		return carrier, err
	}
	if err := here.LinkSetName(near, o.ifname); err != nil {
		return carrier, fmt.Errorf("rename to %s: %w", o.ifname, err)
	}
	if err := here.LinkSetUp(near); err != nil {
		return carrier, err
	}
	// The carrier's network must pass packets before ppp0 has its address
	// (what the agent waits for): a device drops what it is given until the
	// kernel's link watch has activated it, which can take a second.
	if err := waitRunning(carrier, "pppc"); err != nil {
		return carrier, err
	}
	if o.jumpNetns != "" {
		if err := waitRunning(carrier, "up0"); err != nil {
			return carrier, err
		}
		jumpNs, err := netns.GetFromPath(o.jumpNetns)
		if err != nil {
			return carrier, err
		}
		err = waitRunning(jumpNs, uplinkName())
		jumpNs.Close()
		if err != nil {
			return carrier, err
		}
	}
	if err := here.AddrAdd(near, ptp(o.local, o.remote)); err != nil {
		return carrier, fmt.Errorf("address: %w", err)
	}
	for _, r := range strings.Split(o.routes, ",") {
		if r == "" {
			continue
		}
		err := here.RouteAdd(&netlink.Route{
			LinkIndex: near.Attrs().Index,
			Dst:       &net.IPNet{IP: net.ParseIP(r).To4(), Mask: net.CIDRMask(32, 32)},
			Scope:     netlink.SCOPE_LINK,
		})
		if err != nil {
			return carrier, fmt.Errorf("route %s: %w", r, err)
		}
	}
	return carrier, nil
}

// uplink links the carrier to the jump namespace and routes both ways.
func uplink(o options, car *netlink.Handle, carrier netns.NsHandle) error {
	jumpNs, err := netns.GetFromPath(o.jumpNetns)
	if err != nil {
		return err
	}
	defer jumpNs.Close()
	jump, err := netlink.NewHandleAt(jumpNs)
	if err != nil {
		return err
	}
	defer jump.Close()
	far := uplinkName()
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: "up0"},
		PeerName:      far,
		PeerNamespace: netlink.NsFd(jumpNs),
	}
	if err := car.LinkAdd(v); err != nil {
		return err
	}
	u, err := car.LinkByName("up0")
	if err != nil {
		return err
	}
	if err := car.AddrAdd(u, cidr(o.uplinkLocal, 30)); err != nil {
		return err
	}
	if err := car.LinkSetUp(u); err != nil {
		return err
	}
	f, err := jump.LinkByName(far)
	if err != nil {
		return err
	}
	if err := jump.AddrAdd(f, cidr(o.uplinkRem, 30)); err != nil {
		return err
	}
	if err := jump.LinkSetUp(f); err != nil {
		return err
	}
	if err := car.RouteAdd(&netlink.Route{Gw: net.ParseIP(o.uplinkRem).To4()}); err != nil {
		return fmt.Errorf("carrier default route: %w", err)
	}
	err = jump.RouteReplace(&netlink.Route{
		LinkIndex: f.Attrs().Index,
		Dst:       &net.IPNet{IP: net.ParseIP(o.local).To4(), Mask: net.CIDRMask(32, 32)},
		Gw:        net.ParseIP(o.uplinkLocal).To4(),
	})
	if err != nil {
		return fmt.Errorf("jump route back: %w", err)
	}
	return nil
}

// waitRunning waits until the named interfaces in ns are running (their
// oper state processed by the kernel's link watch), by netlink
// notification.
func waitRunning(ns netns.NsHandle, names ...string) error {
	ch := make(chan netlink.LinkUpdate)
	done := make(chan struct{})
	defer func() {
		close(done)
		for range ch {
		}
	}()
	opts := netlink.LinkSubscribeOptions{Namespace: &ns, ListExisting: true}
	if err := netlink.LinkSubscribeWithOptions(ch, done, opts); err != nil {
		return err
	}
	running := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for {
		all := true
		for _, n := range names {
			all = all && running[n]
		}
		if all {
			return nil
		}
		select {
		case u, ok := <-ch:
			if !ok {
				return errors.New("link notifications ended")
			}
			running[u.Attrs().Name] = u.Attrs().RawFlags&syscall.IFF_RUNNING != 0
		case <-timeout:
			return fmt.Errorf("%v not running in time: %v", names, running)
		}
	}
}

// uplinkName is the jump namespace's end of the carrier's uplink.
func uplinkName() string { return fmt.Sprintf("car%d", os.Getpid()%100000000) }

func ptp(local, peer string) *netlink.Addr {
	return &netlink.Addr{
		IPNet: &net.IPNet{IP: net.ParseIP(local).To4(), Mask: net.CIDRMask(32, 32)},
		Peer:  &net.IPNet{IP: net.ParseIP(peer).To4(), Mask: net.CIDRMask(32, 32)},
	}
}

func cidr(ip string, bits int) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(ip).To4(), Mask: net.CIDRMask(bits, 32)}}
}
