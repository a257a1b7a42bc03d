// Package demo runs oobd's whole lifecycle on one machine with no modem,
// no root and no jump host: the production agent with exactly two
// stand-ins, the modem simulator for the USB modem and a loopback link for
// PPP, against an SSH jump host in the same process. It prints each step
// with its timing, the ssh command that reaches the box while the tunnel
// is up, and the "link down" SMS the simulator received.
package demo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	gl "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/agent"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/tunnel/jumphost"
)

// Options tune the demo.
type Options struct {
	// Duration is how long the session stays up (default 20s).
	Duration time.Duration
	// Dir keeps the demo's files (config, keys, state); "" makes a
	// temporary one that is removed afterwards.
	Dir string
	// Log receives the agent's own log; nil discards it.
	Log io.Writer
}

// The owner's number and secret in the demo.
const (
	owner  = "+46701234567"
	secret = "correct-horse-battery"
)

// Run runs the demo, writing its story to w.
func Run(ctx context.Context, w io.Writer, o Options) error {
	if o.Duration <= 0 {
		o.Duration = 20 * time.Second
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "oobd-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	p := &printer{w: w, start: time.Now()}
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))

	p.say("oobd demo: the production lifecycle with two stand-ins:")
	p.say("  stand-in 1: the modem simulator (a pseudo-terminal speaking AT like a Huawei E1752)")
	p.say("  stand-in 2: a loopback link in place of PPP (no dialer, no host route, no device binding)")
	p.say("  the jump host is an SSH server in this process on 127.0.0.1")

	// The pieces that stand outside the box.
	sim, err := modemsim.New(modemsim.WithLogger(log))
	if err != nil {
		return fmt.Errorf("demo: modem simulator: %w", err)
	}
	defer sim.Close()
	keys, err := newKeys(dir)
	if err != nil {
		return err
	}
	jump, err := jumphost.Start(jumphost.WithAuthorizedKeys(keys.agent.PublicKey(), keys.owner.PublicKey()), jumphost.WithLogger(log))
	if err != nil {
		return fmt.Errorf("demo: jump host: %w", err)
	}
	defer jump.Close()
	box, err := startBox(keys.owner.PublicKey(), keys.boxHost)
	if err != nil {
		return err
	}
	defer box.Close()
	p.step("modem simulator on %s; jump host on %s; the box's sshd on %s", sim.Path(), jump.Addr(), box.Addr())

	cfg, err := writeConfig(dir, sim.Path(), jump, box.Addr().String(), o.Duration)
	if err != nil {
		return err
	}

	events := make(chan session.Report, 32)
	a, err := agent.New(cfg, agent.WithLink(session.Loopback{}), agent.WithLogger(log),
		agent.WithObserver(func(r session.Report) {
			select {
			case events <- r:
			default:
			}
		}))
	if err != nil {
		return fmt.Errorf("demo: agent: %w", err)
	}
	actx, stop := context.WithCancel(ctx)
	defer stop()
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(actx) }()

	p.step("oobd running: config %s", cfg.Path)
	text := secret + " up"
	if _, err := sim.Deliver(owner, text); err != nil {
		return fmt.Errorf("demo: deliver: %w", err)
	}
	p.step("texted %q from %s to the modem (the +CMTI indication wakes the inbox)", redact(text), owner)

	var up session.Report
	shown := map[session.State]bool{}
wait:
	for {
		select {
		case r := <-events:
			if !shown[r.State] {
				shown[r.State] = true
				switch r.State {
				case session.StateDialing:
					p.step("text accepted (audit log: %s); raising the link", lastVerdict(cfg.StateDir))
				case session.StateTunnel:
					p.step("link up on %s %s; opening the reverse tunnel", r.Interface, r.LocalIP)
				case session.StateUp:
					up = r
					p.step("self-check passed: an SSH banner came back through the jump host; session up until %s", r.Until.Format("15:04:05"))
					break wait
				case session.StateTearDown, session.StateIdle:
					return fmt.Errorf("demo: the session ended before it was up: %s: %s", r.Step, r.Reason)
				}
			}
		case err := <-agentDone:
			return fmt.Errorf("demo: the agent stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return errors.New("demo: no session within a minute")
		}
	}
	for _, f := range up.Forwards {
		p.say("    forward: jump host %s (bound port %d) -> box %s", f.Remote, f.BoundPort, f.Local)
	}
	sshCfg, err := writeSSHConfig(dir, keys, jump, up.Forwards[0].BoundPort)
	if err != nil {
		return err
	}
	out, err := loginThroughTunnel(ctx, keys, jump, up.Forwards[0].BoundPort)
	if err != nil {
		return fmt.Errorf("demo: login through the tunnel: %w", err)
	}
	p.step("logged in through the tunnel as the owner would; the box said: %q", out)
	p.say("    while it is up, from another terminal:  ssh -F %s oob-box", sshCfg)
	p.say("    (in real life:  ssh -J jump.example.net -p 31337 root@localhost)")
	p.say("    waiting for the session's time (%s) to run out…", o.Duration)

	for {
		select {
		case r := <-events:
			if r.State == session.StateIdle {
				p.step("torn down in reverse (tunnel, link, modem): %s; %d bytes through the link", r.Reason, r.Bytes)
				goto down
			}
		case err := <-agentDone:
			return fmt.Errorf("demo: the agent stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
down:
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sent, err := sim.WaitSent(sctx, 1)
	if err != nil {
		return fmt.Errorf("demo: no link-down SMS: %w", err)
	}
	p.step("the modem sent the \"link down\" SMS to %s:", sent[0].To)
	for _, l := range strings.Split(sent[0].Text, "\n") {
		p.say("    | %s", l)
	}
	stop()
	if err := <-agentDone; err != nil {
		return err
	}
	p.step("oobd stopped; state and audit log were in %s", cfg.StateDir)
	return nil
}

// printer writes the demo's story with the time since its start.
type printer struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex // guards w: one line at a time
}

func (p *printer) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.2fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s\n", fmt.Sprintf(format, args...))
}

// redact shows a text with its secret hidden, as the audit log does.
func redact(text string) string {
	f := strings.Fields(text)
	if len(f) > 0 {
		f[0] = "<secret>"
	}
	return strings.Join(f, " ")
}

// lastVerdict is the verdict of the audit log's last line.
func lastVerdict(stateDir string) string {
	b, err := os.ReadFile(filepath.Join(stateDir, "audit.log"))
	if err != nil {
		return "unread: " + err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	if i := strings.Index(last, `"verdict":"`); i >= 0 {
		v := last[i+len(`"verdict":"`):]
		if j := strings.IndexByte(v, '"'); j >= 0 {
			return v[:j]
		}
	}
	return last
}

type keySet struct {
	agent, owner, boxHost gossh.Signer
	agentFile, ownerFile  string
}

// newKeys makes the agent's tunnel key, the owner's key and the box's host
// key, and writes the two private keys the ssh tools need.
func newKeys(dir string) (*keySet, error) {
	var ks keySet
	for _, k := range []struct {
		signer *gossh.Signer
		file   *string
		name   string
	}{{&ks.agent, &ks.agentFile, "id_agent"}, {&ks.owner, &ks.ownerFile, "id_owner"}, {&ks.boxHost, nil, ""}} {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		s, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			return nil, err
		}
		*k.signer = s
		if k.file == nil {
			continue
		}
		block, err := gossh.MarshalPrivateKey(priv, "")
		if err != nil {
			return nil, err
		}
		*k.file = filepath.Join(dir, k.name)
		if err := os.WriteFile(*k.file, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, err
		}
	}
	return &ks, nil
}

// writeConfig writes the oobd.yaml the demo's agent runs on and loads it
// the way `oobd run` does.
func writeConfig(dir, modemPort string, jump *jumphost.Server, boxAddr string, d time.Duration) (*config.Config, error) {
	stateDir := filepath.Join(dir, "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	files := map[string]string{
		"secret":      secret + "\n",
		"known_hosts": jump.KnownHostsLine() + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	yaml := fmt.Sprintf(`state_dir: %s
modem:
  port: %s
  command_timeout: 5s
trigger:
  schedule: "@every 1h"
  urc: true
  senders: [%q]
  secret_file: %s
link:
  up_command: [/bin/false]   # not used: the demo's loopback link stands in for PPP
  interface: lo
session:
  duration: %s
  max_duration: 1h
tunnel:
  jump_host: %s
  user: oob
  identity_file: %s
  known_hosts: %s
  keepalive: 5s
  forwards:
    - remote: localhost:0
      local: %s
`, stateDir, modemPort, owner, filepath.Join(dir, "secret"), d, jump.Addr(),
		filepath.Join(dir, "id_agent"), filepath.Join(dir, "known_hosts"), boxAddr)
	path := filepath.Join(dir, "oobd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("demo: config: %w", err)
	}
	return cfg, nil
}

// writeSSHConfig writes the ~/.ssh/config stanzas an owner would have, so
// `ssh -F FILE oob-box` goes through the jump host and the forward.
func writeSSHConfig(dir string, keys *keySet, jump *jumphost.Server, port int) (string, error) {
	jhost, jport, _ := net.SplitHostPort(jump.Addr())
	known := filepath.Join(dir, "owner_known_hosts")
	line := fmt.Sprintf("[%s]:%s %s", jhost, jport, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(jump.HostKey()))))
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`Host oob-jump
  HostName %s
  Port %s
  User oob
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
Host oob-box
  HostName localhost
  Port %d
  User root
  ProxyJump oob-jump
  IdentityFile %s
  IdentitiesOnly yes
  # the demo box's host key is new every run
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
`, jhost, jport, keys.ownerFile, known, port, keys.ownerFile)
	path := filepath.Join(dir, "ssh_config")
	return path, os.WriteFile(path, []byte(conf), 0o600)
}

// loginThroughTunnel does what `ssh -J jump -p PORT root@localhost` does:
// SSH to the jump host, a direct-tcpip channel to its end of the forward,
// and a second SSH session inside it to the box.
func loginThroughTunnel(ctx context.Context, keys *keySet, jump *jumphost.Server, port int) (string, error) {
	jc, err := gossh.Dial("tcp", jump.Addr(), &gossh.ClientConfig{
		User: "oob", Auth: []gossh.AuthMethod{gossh.PublicKeys(keys.owner)},
		HostKeyCallback: gossh.FixedHostKey(jump.HostKey()), Timeout: 10 * time.Second,
	})
	if err != nil {
		return "", fmt.Errorf("jump host: %w", err)
	}
	defer jc.Close()
	nc, err := jc.DialContext(ctx, "tcp", net.JoinHostPort("localhost", strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("forward: %w", err)
	}
	defer nc.Close()
	cc, chans, reqs, err := gossh.NewClientConn(nc, "localhost", &gossh.ClientConfig{
		User: "root", Auth: []gossh.AuthMethod{gossh.PublicKeys(keys.owner)},
		HostKeyCallback: gossh.FixedHostKey(keys.boxHost.PublicKey()),
	})
	if err != nil {
		return "", fmt.Errorf("box: %w", err)
	}
	bc := gossh.NewClient(cc, chans, reqs)
	defer bc.Close()
	s, err := bc.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var out bytes.Buffer
	s.Stdout = &out
	if err := s.Run("hostname"); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// startBox is the OOB box's own sshd in the demo: it lets the owner's key
// in and answers every command with a greeting.
func startBox(owner gossh.PublicKey, hostKey gossh.Signer) (*boxServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &gl.Server{
		Handler: func(s gl.Session) {
			io.WriteString(s, "oob-box (oobd demo): the router's console is one `cu -l /dev/ttyUSB1` away\n")
			s.Exit(0)
		},
		PublicKeyHandler: func(ctx gl.Context, key gl.PublicKey) bool { return gl.KeysEqual(key, owner) },
	}
	srv.AddHostKey(hostKey)
	b := &boxServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() { srv.Serve(ln); close(b.done) }()
	return b, nil
}

type boxServer struct {
	srv  *gl.Server
	ln   net.Listener
	done chan struct{}
}

func (b *boxServer) Addr() net.Addr { return b.ln.Addr() }

func (b *boxServer) Close() error {
	err := b.srv.Close()
	<-b.done
	return err
}
