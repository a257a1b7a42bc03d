package doctor

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/sshdtest"
	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/config"
)

// The world doctor looks at, real where it can be: the modem simulator on
// a pty, a real sshd as the jump host (and, behind "localhost:22", as the
// box's own sshd), files in a temporary directory, a local stand-in for
// Pushover's API. The OS boundaries doctor cannot be pointed at otherwise
// are fakes: the /proc holder scan, the PATH lookup of pppd, the kernel's
// clock status.

const (
	pushToken = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	pushUser  = "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
)

// jumpHost is one real sshd for every test in the package that needs one.
type jumpHost struct{ sshd *sshdtest.Server }

func startJumpHost(t *testing.T) *jumpHost {
	t.Helper()
	return &jumpHost{sshd: sshdtest.Start(t, sshdtest.Options{})}
}

// rig is one doctor run's world.
type rig struct {
	t    *testing.T
	dir  string
	sim  *modemsim.Simulator
	jump *jumpHost
	// yaml is the config; edit it before run.
	yaml string
	// holders are what the /proc scan finds, by device.
	holders map[string][]modem.Holder
	// lookPath answers for link.up_command[0]; missing: not found.
	lookPath map[string]string
	synced   bool
	// redirect sends a dial of one address to another (the box's
	// "localhost:22" is the jump host's sshd, which sends a real banner).
	redirect map[string]string
	// opened counts the modem's openings.
	opened atomic.Int32
}

func newRig(t *testing.T, jump *jumpHost, simOpts ...modemsim.Option) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), jump: jump, holders: map[string][]modem.Holder{},
		lookPath: map[string]string{"pppd": "/usr/sbin/pppd"}, synced: true,
		redirect: map[string]string{"localhost:22": jump.sshd.Addr}}
	sim, err := modemsim.New(append([]modemsim.Option{modemsim.WithBootQuiet(50 * time.Millisecond)}, simOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	r.sim = sim

	r.write("secret", "hunter2-Secret\n", 0o600)
	r.write("pushover.token", pushToken+"\n", 0o600)
	r.write("known_hosts", jump.sshd.KnownHostsLine(), 0o644)
	sshdtest.GenerateKey(t, r.dir, "id_ed25519", "ed25519", "")
	if err := os.Mkdir(r.path("state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.path("peers"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.write("peers/oob", `# /etc/ppp/peers/oob
`+sim.Path()+`
460800
connect "/usr/sbin/chat -v -f `+r.path("chat")+`"
crtscts
user "oob"
password "oob"
logfile /dev/null
nodetach
`, 0o600)
	r.write("chat", `ABORT "ERROR"
"" "AT"
OK 'AT+CGDCONT=1,"IP","internet.test"'
OK "ATD*99#"
CONNECT ""
`, 0o644)

	api := httptest.NewServer(http.HandlerFunc(pushoverValidate))
	t.Cleanup(api.Close)
	r.yaml = strings.NewReplacer("DIR", r.dir, "PORT", sim.Path(), "JUMP", jump.sshd.Addr, "API", api.URL+"/1",
		"TOKEN", pushToken, "USER", pushUser).Replace(`state_dir: DIR/state
modem:
  port: PORT
  command_timeout: 2s
trigger:
  senders: ["+46709876543"]
  secret_file: DIR/secret
tunnel:
  jump_host: JUMP
  identity_file: DIR/id_ed25519
  known_hosts: DIR/known_hosts
  forwards:
    - remote: localhost:31337
      local: localhost:22
notify:
  pushover:
    token_file: DIR/pushover.token
    user_key: USER
    api_url: API
`)
	return r
}

// pushoverValidate answers users/validate.json as Pushover does.
func pushoverValidate(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/1/users/validate.json" || req.Method != http.MethodPost {
		http.NotFound(w, req)
		return
	}
	req.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case req.PostForm.Get("token") != pushToken:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"token":"invalid","errors":["application token is invalid"],"status":0,"request":"t"}`)
	case req.PostForm.Get("user") != pushUser:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"user":"invalid","errors":["user key is invalid"],"status":0,"request":"t"}`)
	default:
		io.WriteString(w, `{"status":1,"group":0,"devices":["phone"],"licenses":["Android"],"request":"t"}`)
	}
}

func (r *rig) path(name string) string { return filepath.Join(r.dir, name) }

func (r *rig) write(name, body string, mode os.FileMode) {
	r.t.Helper()
	if err := os.WriteFile(r.path(name), []byte(body), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(r.path(name), mode); err != nil {
		r.t.Fatal(err)
	}
}

// edit replaces old with new in the file name ("" for the config).
func (r *rig) edit(name, old, new string) {
	r.t.Helper()
	if name == "" {
		if !strings.Contains(r.yaml, old) {
			r.t.Fatalf("no %q in the config", old)
		}
		r.yaml = strings.Replace(r.yaml, old, new, 1)
		return
	}
	b, err := os.ReadFile(r.path(name))
	if err != nil || !strings.Contains(string(b), old) {
		r.t.Fatalf("no %q in %s (%v)", old, name, err)
	}
	fi, _ := os.Stat(r.path(name))
	r.write(name, strings.Replace(string(b), old, new, 1), fi.Mode().Perm())
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type fakeHolders map[string][]modem.Holder

func (f fakeHolders) Holders() (map[string][]modem.Holder, bool, error) { return f, true, nil }

type fakeClock bool

func (c fakeClock) Synchronized() bool { return bool(c) }

func (r *rig) doctor() *Doctor {
	r.t.Helper()
	cfgPath := r.path("oobd.yaml")
	if err := os.WriteFile(cfgPath, []byte(r.yaml), 0o600); err != nil {
		r.t.Fatal(err)
	}
	d := System(cfgPath)
	open := d.OpenModem
	d.OpenModem = func(ctx context.Context, cfg *config.Config) (Modem, error) {
		r.opened.Add(1)
		return open(ctx, cfg)
	}
	d.Holders = fakeHolders(r.holders)
	d.LookPath = func(file string) (string, error) {
		if p, ok := r.lookPath[file]; ok {
			return p, nil
		}
		return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
	}
	d.PeersDir = r.path("peers")
	d.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := r.redirect[addr]; ok {
			addr = to
		}
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}
	d.Clock = fakeClock(r.synced)
	d.Timeout = 3 * time.Second
	return d
}

// run runs doctor and returns its report and printed text.
func (r *rig) run() (*Report, string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep := r.doctor().Run(ctx)
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		r.t.Fatal(err)
	}
	return rep, b.String()
}

// httpListener is a server that answers every connection as a web server
// does to a line it cannot read.
func httpListener(t *testing.T) string {
	return greeter(t, "HTTP/1.0 400 Bad Request\r\n\r\n", true)
}

// greeter listens on loopback and writes greeting to every connection,
// then hangs up or reads until the client does; it stops with the test.
func greeter(t *testing.T, greeting string, hangUp bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, greeting)
			if hangUp {
				c.Close()
				continue
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
