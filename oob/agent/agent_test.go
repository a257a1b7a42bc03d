package agent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/agent"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
	"github.com/oobd/oobd/tunnel/jumphost"
)

// The operator's side of the daemon, in process and without root: the
// agent with the loopback link (the demo's stand-in for PPP), the
// simulator and the in-process jump host, driven through the control
// socket and by text. The real link is tested by the TestE2E* tests.

const (
	owner  = "+46701234567"
	extra  = "+46700000001"
	secret = "an-owner-secret"
)

type inProcess struct {
	simulator *modemsim.Simulator
	cfg       *config.Config
	stateDir  string
	socket    string
}

// ipSetup changes the in-process agent's world before it starts.
type ipSetup struct {
	// yaml is appended to the config.
	yaml string
	// before runs on the state store before the agent opens it.
	before func(*state.State)
}

func startInProcess(t *testing.T, opts ...ipSetup) *inProcess {
	t.Helper()
	dir := t.TempDir()
	simulator, err := modemsim.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simulator.Close() })

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	block, _ := gossh.MarshalPrivateKey(priv, "")
	noErr(t, os.WriteFile(filepath.Join(dir, "id"), pem.EncodeToMemory(block), 0o600))
	jump, err := jumphost.Start(jumphost.WithAuthorizedKeys(signer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jump.Close() })
	noErr(t, os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(jump.KnownHostsLine()+"\n"), 0o600))
	noErr(t, os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o600))

	// The box's service: it speaks first, as sshd does, so the self-check
	// reads its banner back through the tunnel.
	box, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	go func() {
		for {
			c, err := box.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "SSH-2.0-box\r\n")
			c.Close()
		}
	}()

	stateDir := filepath.Join(dir, "state")
	noErr(t, os.Mkdir(stateDir, 0o700))
	extraYAML := ""
	for _, o := range opts {
		extraYAML += o.yaml
		if o.before != nil {
			st, err := state.Open(stateDir)
			noErr(t, err)
			noErr(t, st.Update(o.before))
		}
	}
	yaml := fmt.Sprintf(`state_dir: %s
modem:
  port: %s
trigger:
  schedule: "@every 1h"
  senders: [%q]
  secret_file: %s/secret
session:
  duration: 1h
  max_duration: 2h
tunnel:
  jump_host: %s
  identity_file: %s/id
  known_hosts: %s/known_hosts
  forwards:
    - remote: localhost:0
      local: %s
notify:
  sms: [%q]
`, stateDir, simulator.Path(), owner, dir, jump.Addr(), dir, dir, box.Addr(), extra) + extraYAML
	path := filepath.Join(dir, "oobd.yaml")
	noErr(t, os.WriteFile(path, []byte(yaml), 0o600))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, agent.WithLink(session.Loopback{}),
		agent.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	p := &inProcess{simulator: simulator, cfg: cfg, stateDir: stateDir, socket: control.SocketPath(stateDir)}
	// The socket answers once Run has started the agent's parts; a Run
	// that ends first says why.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", p.socket); err == nil {
			c.Close()
			return p
		}
		select {
		case err := <-done:
			done <- err // for the clean-up
			t.Fatalf("the agent stopped before its control socket answered: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no control socket")
		}
	}
}

func (p *inProcess) ask(t *testing.T, verb trigger.Verb, d string) control.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := control.Do(ctx, p.socket, control.Request{Verb: verb, For: d})
	if err != nil {
		t.Fatalf("%s: %v", verb, err)
	}
	return resp
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLocalOperatorUpDownAndDrill(t *testing.T) {
	p := startInProcess(t)

	up := p.ask(t, "up", "30m")
	if !up.OK || len(up.Forwards) != 1 || up.Forwards[0].BoundPort == 0 {
		t.Fatalf("up: %+v", up)
	}
	if d := time.Until(up.Until); d < 29*time.Minute || d > 30*time.Minute {
		t.Errorf("up --for 30m ends in %v", d)
	}
	again := p.ask(t, "up", "")
	if !again.OK || !strings.Contains(again.Message, "already up") || again.Until.Before(up.Until) {
		t.Errorf("second up: %+v", again)
	}
	st, err := state.Read(p.stateDir)
	noErr(t, err)
	if !st.Session.Active || st.Session.RequestedBy != "local operator" || st.Session.Forwards[0].BoundPort != up.Forwards[0].BoundPort {
		t.Errorf("state during the session: %+v", st.Session)
	}
	if r := p.ask(t, "drill", ""); r.OK {
		t.Errorf("a drill ran during a session: %+v", r)
	}

	down := p.ask(t, "down", "")
	if !down.OK || !strings.Contains(down.Message, "session down") {
		t.Fatalf("down: %+v", down)
	}
	// The "link down" SMS of a local session goes to notify.sms.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent, err := p.simulator.WaitSent(ctx, 1)
	noErr(t, err)
	if sent[0].To != extra || !strings.Contains(sent[0].Text, "DOWN") || !strings.Contains(sent[0].Text, "local operator") {
		t.Errorf("link down SMS: %+v", sent[0])
	}
	if r := p.ask(t, "down", ""); r.OK {
		t.Errorf("down with no session: %+v", r)
	}

	drill := p.ask(t, "drill", "")
	if !drill.OK {
		t.Fatalf("drill: %+v", drill)
	}
	// oobd drill prints how long each step took.
	for _, step := range []string{"steps: ", "tunnel ", "self-check "} {
		if !strings.Contains(drill.Message, step) {
			t.Errorf("drill message lacks %q: %q", step, drill.Message)
		}
	}
	st, err = state.Read(p.stateDir)
	noErr(t, err)
	if st.LastDrill == nil || !st.LastDrill.OK || st.Session.Active {
		t.Errorf("after the drill: drill %+v, session %+v", st.LastDrill, st.Session)
	}

	// A status text is answered with the diagnosis, and the drill sent no SMS.
	if _, err := p.simulator.Deliver(owner, secret+" status"); err != nil {
		t.Fatal(err)
	}
	sent, err = p.simulator.WaitSent(ctx, 2)
	noErr(t, err)
	if sent[1].To != owner || !strings.Contains(sent[1].Text, "drill") || len(sent[1].Text) > 160 {
		t.Errorf("status reply: %+v", sent[1])
	}
}

// pushoverAPI answers like Pushover's API and hands over each push.
func pushoverAPI(t *testing.T) (api string, pushes <-chan url.Values) {
	t.Helper()
	ch := make(chan url.Values, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ch <- r.PostForm
		w.Header().Set("X-Limit-App-Limit", "10000")
		w.Header().Set("X-Limit-App-Remaining", "9999")
		w.Header().Set("X-Limit-App-Reset", "1700000000")
		io.WriteString(w, `{"status":1,"request":"e2e"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/1", ch
}

func TestSIMChangeIsPushed(t *testing.T) {
	api, pushes := pushoverAPI(t)
	tokenDir := t.TempDir()
	token := filepath.Join(tokenDir, "token")
	noErr(t, os.WriteFile(token, []byte(strings.Repeat("a", 30)+"\n"), 0o600))
	startInProcess(t, ipSetup{
		yaml: fmt.Sprintf("  pushover:\n    token_file: %s\n    user_key: %s\n    api_url: %s\n", token, strings.Repeat("u", 30), api),
		// The last run saw another SIM.
		before: func(st *state.State) { st.Modem.ICCID, st.Modem.IMSI = "89460100009999999999", "240019999999999" },
	})
	select {
	case p := <-pushes:
		if p.Get("title") != "oobd: SIM changed" || !strings.Contains(p.Get("message"), "89460100009999999999 -> 89460100001234567890") {
			t.Errorf("push: %v", p)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no push about the SIM change")
	}
}

func TestSecondDaemonIsRefused(t *testing.T) {
	p := startInProcess(t)
	if r := p.ask(t, "up", ""); !r.OK {
		t.Fatalf("up: %+v", r)
	}
	second, err := agent.New(p.cfg, agent.WithLink(session.Loopback{}),
		agent.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	err = second.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another oobd is already running") {
		t.Fatalf("second daemon: %v", err)
	}
	// The first one's session is untouched.
	st, err := state.Read(p.stateDir)
	noErr(t, err)
	if !st.Session.Active {
		t.Errorf("the second daemon disturbed the session: %+v", st.Session)
	}
}
