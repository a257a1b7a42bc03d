package doctor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/tunnel"
)

// The jump host: known_hosts has its key; when it can be reached over the
// LAN now, the key it offers is that one (checked the way the tunnel
// checks it); and the forwards' local targets answer.

// errKeyChecked ends a handshake once the host key is judged: doctor has
// no business logging in.
var errKeyChecked = errors.New("doctor: host key checked")

// handshake is what the jump host's SSH server showed of its key.
type handshake struct {
	reached bool          // the TCP connect worked
	err     error         // why the connect or the handshake failed before the key
	offered ssh.PublicKey // the key it offered (nil: none)
	keyErr  error         // the tunnel's verdict on it
}

func (d *Doctor) jumpHost(ctx context.Context, cfg *config.Config, r *Report) {
	jump := cfg.Tunnel.JumpHost
	name := knownhosts.Normalize(jump)
	file := cfg.Tunnel.KnownHosts
	check, algos, err := tunnel.HostKeyCheck(file, jump)
	var hs handshake
	if err == nil {
		hs = d.handshake(ctx, jump, cfg.Tunnel.User, check, algos)
	}
	host, port, _ := net.SplitHostPort(jump)
	keyscan := "ssh-keyscan -t ed25519 " + host
	if port != "22" {
		keyscan = "ssh-keyscan -p " + port + " -t ed25519 " + host
	}
	addKey := fmt.Sprintf("%s >> %s (then check that the fingerprint is the one 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' shows on the jump host)", keyscan, file)

	var unknown *tunnel.UnknownHostError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.fail("known_hosts", file+": no such file", "make it: "+addKey)
	case err != nil:
		r.fail("known_hosts", err.Error(), "correct "+file+", or make it again: "+addKey)
	case len(algos) == 0:
		detail := file + " has no key for " + name
		if errors.As(hs.keyErr, &unknown) {
			detail += fmt.Sprintf(" (the jump host offers %s %s)", tunnel.KeyTypeName(unknown.Offered), unknown.OfferedFor)
		}
		r.fail("known_hosts", detail, "add it: "+addKey)
	default:
		r.pass("known_hosts", fmt.Sprintf("%s has %s for %s", file, strings.Join(algos, ", "), name))
	}

	var changed *tunnel.HostKeyChangedError
	var revoked *tunnel.HostKeyRevokedError
	switch {
	case err != nil:
		r.skip("host key", "not checked: known_hosts cannot be read")
	case !hs.reached:
		r.skip("host key", fmt.Sprintf("not checked: jump host not reachable over the LAN (%v)", hs.err))
	case hs.offered == nil:
		r.fail("host key", fmt.Sprintf("%s answers, but no SSH handshake: %v", jump, hs.err),
			"is "+jump+" the jump host's SSH server? Check tunnel.jump_host; a key type missing from known_hosts also fails here: "+addKey)
	case hs.keyErr == nil:
		r.pass("host key", fmt.Sprintf("%s offers %s %s, as known_hosts says", jump, tunnel.KeyTypeName(hs.offered), ssh.FingerprintSHA256(hs.offered)))
	case errors.As(hs.keyErr, &unknown):
		r.skip("host key", "not compared: known_hosts has no key for "+name+" (see known_hosts)")
	case errors.As(hs.keyErr, &changed):
		r.fail("host key", fmt.Sprintf("CHANGED: %s offers %s %s, not the key in %s", jump, tunnel.KeyTypeName(hs.offered), ssh.FingerprintSHA256(hs.offered), file),
			"if the jump host was reinstalled, replace its line in "+file+" once the new fingerprint is checked on the jump host; otherwise someone may be in the middle: find out before trusting it")
	case errors.As(hs.keyErr, &revoked):
		r.fail("host key", hs.keyErr.Error(), "the jump host offers a key marked @revoked in "+file+": give it a new host key and add that")
	default:
		r.fail("host key", hs.keyErr.Error(), "correct "+file)
	}

	for i, f := range cfg.Tunnel.Forwards {
		d.target(ctx, cfg, i, f, r)
	}
}

// handshake connects to the jump host over the LAN and runs the SSH
// handshake up to the host key, which check judges; it never logs in.
func (d *Doctor) handshake(ctx context.Context, jump, user string, check ssh.HostKeyCallback, algos []string) handshake {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	c, err := d.Dial(ctx, "tcp", jump)
	if err != nil {
		return handshake{err: err}
	}
	defer c.Close()
	hs := handshake{reached: true}
	// The handshake has no timeout of its own (x/crypto).
	c.SetDeadline(time.Now().Add(d.timeout()))
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cc := &ssh.ClientConfig{
		User: user,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			hs.offered, hs.keyErr = key, check(host, remote, key)
			return errKeyChecked
		},
		HostKeyAlgorithms: algos,
	}
	_, _, _, err = ssh.NewClientConn(c, jump, cc)
	if hs.offered == nil {
		hs.err = err
	}
	return hs
}

// target checks that a forward's local target answers; an SSH server (port
// 22) must send its banner, as the tunnel's self-check will read it.
func (d *Doctor) target(ctx context.Context, cfg *config.Config, i int, f tunnel.Forward, r *Report) {
	what := f.Remote + " → " + f.Local
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	c, err := d.Dial(ctx, "tcp", f.Local)
	if err != nil {
		if cfg.Console.Device != "" && f.Local == cfg.Console.Listen {
			r.skip("forward", what+": not answering now: it is oobd's console bridge, which runs with the daemon")
			return
		}
		r.fail("forward", fmt.Sprintf("%s: %s does not answer: %v", what, f.Local, err),
			fmt.Sprintf("start the service there (sshd: 'systemctl enable --now ssh'), or correct tunnel.forwards[%d].local", i))
		return
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(f.Local)
	if port != "22" {
		r.pass("forward", what+": "+f.Local+" accepts connections")
		return
	}
	c.SetReadDeadline(time.Now().Add(d.timeout()))
	line, err := bufio.NewReaderSize(c, 256).ReadString('\n')
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "SSH-") {
		got := "nothing"
		if line != "" {
			got = fmt.Sprintf("%.40q", line)
		} else if err != nil {
			got = "nothing (" + err.Error() + ")"
		}
		r.fail("forward", fmt.Sprintf("%s: %s sent %s, not an SSH banner", what, f.Local, got),
			fmt.Sprintf("port 22 should be this box's sshd: check what listens there ('ss -ltnp'), or correct tunnel.forwards[%d].local", i))
		return
	}
	r.pass("forward", what+": "+f.Local+" answers "+line)
}
