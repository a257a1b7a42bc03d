//go:build linux

package agenttest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/netnstest"
	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Net is a netnstest topology with a jump host and the box's sshd: the
// network a session needs, for oobd or for a reference client.
type Net struct {
	TP   *netnstest.Topology
	Dir  string
	Jump *sshdtest.Server // in the jump namespace, on JumpIP:22
	Box  *sshdtest.Server // in the agent namespace, on 127.0.0.1:BoxPort
	// AgentKey may forward AgentPort (and open it, for oobd's
	// self-check); RefKey may forward RefPort. Private key paths.
	AgentKey, RefKey string
	// KnownHosts holds the jump host's key under its address.
	KnownHosts string
}

// NewNet builds the topology and starts both sshds. The jump host's
// sshd_config has what configs/jumphost/sshd_config.oob sets for the
// agent's account: ClientAliveInterval 15, ClientAliveCountMax 2.
func NewNet(tb testing.TB) *Net {
	tb.Helper()
	n := &Net{Dir: tb.TempDir()}
	n.TP = netnstest.New(tb)
	recordNetns(tb, n.TP)
	agentPub, agentKey := sshdtest.GenerateKey(tb, n.Dir, "id_agent", "ed25519", "")
	refPub, refKey := sshdtest.GenerateKey(tb, n.Dir, "id_ref", "ed25519", "")
	n.AgentKey, n.RefKey = agentKey, refKey
	agentFwd := fmt.Sprintf("localhost:%d", AgentPort)
	n.Jump = sshdtest.Start(tb, sshdtest.Options{
		Netns: n.TP.Jump, ListenHost: netnstest.JumpIP.String(), Port: 22,
		AuthorizedKeys: []sshdtest.AuthorizedKey{
			{Options: fmt.Sprintf(`restrict,port-forwarding,permitlisten="%s",permitopen="%s"`, agentFwd, agentFwd), Key: agentPub},
			{Options: fmt.Sprintf(`restrict,port-forwarding,permitlisten="localhost:%d"`, RefPort), Key: refPub},
		},
		ClientAliveInterval: 15 * time.Second, ClientAliveCountMax: 2,
	})
	n.Box = sshdtest.Start(tb, sshdtest.Options{Netns: n.TP.Agent, Port: BoxPort})
	n.KnownHosts = sshdtest.WriteFile(tb, n.Dir, "known_hosts", n.Jump.KnownHostsLine(netnstest.JumpIP.String()))
	return n
}

// NetnsFileEnv names a file to which NewNet appends the names of the
// namespaces it creates, one a line: a bench script that has to stop its
// harness the hard way still finds and deletes them.
const NetnsFileEnv = "AGENTTEST_NETNS_FILE"

func recordNetns(tb testing.TB, tp *netnstest.Topology) {
	tb.Helper()
	path := os.Getenv(NetnsFileEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s\n%s\n%s\n", tp.Agent, tp.LAN, tp.Jump)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		tb.Fatalf("agenttest: %s: %v", NetnsFileEnv, err)
	}
}

// JumpHost is the jump host's address, "203.0.113.10:22".
func (n *Net) JumpHost() string { return net.JoinHostPort(netnstest.JumpIP.String(), "22") }

// Answers makes one connection to the jump host's end of the forward on
// port (on its loopback, from inside the jump namespace, as the owner's
// ssh -J does) and reads an SSH banner: nil when the box answered
// through the tunnel.
func (n *Net) Answers(ctx context.Context, port int) error {
	var c net.Conn
	err := netnstest.Do(n.TP.Jump, func() error {
		d := net.Dialer{Timeout: time.Second}
		var err error
		c, err = d.DialContext(ctx, "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		return err
	})
	if err != nil {
		return fmt.Errorf("agenttest: forward %d: %w", port, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("agenttest: forward %d: no banner (%q, %v)", port, line, err)
	}
	return nil
}

// WaitAnswer probes the forward on port every `every` until it answers,
// and returns when it did (the banner's arrival).
func (n *Net) WaitAnswer(ctx context.Context, port int, every time.Duration) (time.Time, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		err := n.Answers(ctx, port)
		if err == nil {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// LinkCounts are an interface's counters.
type LinkCounts struct {
	RxBytes, TxBytes, RxPackets, TxPackets uint64
}

// LinkCounts reads the counters of the interface ifname in the agent
// namespace.
func (n *Net) LinkCounts(ifname string) (LinkCounts, error) {
	var c LinkCounts
	ns, err := netns.GetFromName(n.TP.Agent)
	if err != nil {
		return c, fmt.Errorf("agenttest: netns %s: %w", n.TP.Agent, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return c, fmt.Errorf("agenttest: netlink in %s: %w", n.TP.Agent, err)
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return c, fmt.Errorf("agenttest: %s: %w", ifname, err)
	}
	st := l.Attrs().Statistics
	if st == nil {
		return c, fmt.Errorf("agenttest: %s: no statistics", ifname)
	}
	return LinkCounts{st.RxBytes, st.TxBytes, st.RxPackets, st.TxPackets}, nil
}

// Dial brings up the test dialer's ppp0 in the agent namespace for a
// reference client, with a host route to the jump host through it (what
// oobd's link.pin_route installs), and waits until it is up.
func (n *Net) Dial(ctx context.Context, tb testing.TB, bins Binaries) *Proc {
	tb.Helper()
	p := StartProc(tb, n.TP.Agent, filepath.Join(n.Dir, "fakeppp-ref.log"), nil,
		bins.FakePPP, "-jump-netns", n.TP.JumpNetnsPath(), "-route", netnstest.JumpIP.String())
	// fakeppp says so once the address and the routes are in place.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Log().Wait(ctx, "remote IP address", 1); err != nil {
		tb.Fatalf("agenttest: the reference's dialer: %v\n%s", err, p.Log().Tail(20))
	}
	return p
}

// RefSSHArgs are the arguments (after the program name) of the reference
// client: OpenSSH's ssh holding one remote forward, RefPort on the jump
// host to the box's sshd, with the cipher oobd negotiates and oobd's
// keepalive as ServerAliveInterval, exiting if the forward fails (as an
// autossh set-up needs).
func (n *Net) RefSSHArgs() []string {
	return []string{"-N", "-F", "/dev/null",
		"-i", n.RefKey, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + n.KnownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ExitOnForwardFailure=yes",
		"-o", fmt.Sprintf("ServerAliveInterval=%d", Keepalive),
		"-o", fmt.Sprintf("ServerAliveCountMax=%d", ServerAliveCountMax),
		"-o", "LogLevel=VERBOSE",
		"-c", Cipher,
		"-R", fmt.Sprintf("localhost:%d:127.0.0.1:%d", RefPort, BoxPort),
		n.Jump.User + "@" + netnstest.JumpIP.String()}
}
