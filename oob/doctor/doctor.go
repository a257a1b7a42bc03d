// Package doctor checks everything a session needs, without dialing:
// the config, the modem and its SIM, the dialer's files, the identity key
// (with the authorized_keys line for the jump host), the jump host's key
// and the forwards' targets, Pushover and the clock. Each check passes,
// fails with the fix, or is skipped with why. `oobd doctor` prints the
// Report.
//
// When the daemon runs (its control socket answers), the modem checks read
// its state and the port is left alone: opening it would collide with the
// daemon's own AT session.
package doctor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// The report's sections, in order.
const (
	SectionModem    = "Config and modem"
	SectionDialer   = "The dialer"
	SectionKey      = "The identity key"
	SectionJumpHost = "The jump host"
	SectionRest     = "Pushover and the clock"
)

// DefaultPeersDir is where pppd looks for `call NAME`.
const DefaultPeersDir = "/etc/ppp/peers"

// DefaultTimeout bounds each network check (a TCP connect, a handshake, a
// banner, a Pushover request): doctor asks over the LAN, where an answer
// is quick or does not come.
const DefaultTimeout = 5 * time.Second

// Modem is what doctor asks the modem; *modem.Modem satisfies it.
type Modem interface {
	Info(ctx context.Context) (modem.Info, error)
	ServiceCentre(ctx context.Context) (string, error)
	Close() error
}

// Clock says whether the kernel keeps the clock synchronised.
type Clock interface {
	Synchronized() bool
}

// Doctor runs the checks on the config at ConfigPath. The other fields
// are the OS boundary; System fills them with the real ones.
type Doctor struct {
	ConfigPath string

	// Daemon asks the daemon with this state directory for its status;
	// an error wrapping control.ErrNoDaemon means none runs.
	Daemon func(ctx context.Context, stateDir string) (control.Response, error)
	// ReadState reads the daemon's state file.
	ReadState func(stateDir string) (state.State, error)
	// OpenModem opens the modem's AT port (only when no daemon runs).
	OpenModem func(ctx context.Context, cfg *config.Config) (Modem, error)
	// Holders finds the processes holding the ports; nil where there is
	// no /proc to scan (FreeBSD).
	Holders modem.HolderScanner
	// LookPath finds link.up_command[0] like exec does.
	LookPath func(file string) (string, error)
	// PeersDir is pppd's peers directory.
	PeersDir string
	// Dial connects over the LAN (the jump host, the forwards' targets).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTP asks Pushover.
	HTTP *http.Client
	// Clock says whether the clock is synchronised; nil where the kernel
	// cannot say (FreeBSD: not wrapped by x/sys).
	Clock Clock
	// Timeout bounds each network check (default DefaultTimeout).
	Timeout time.Duration
}

// System is a Doctor on this machine's modem, files, network and clock.
func System(configPath string) *Doctor {
	d := &Doctor{
		ConfigPath: configPath,
		Daemon: func(ctx context.Context, stateDir string) (control.Response, error) {
			return control.Do(ctx, control.SocketPath(stateDir), control.Request{Verb: trigger.VerbStatus})
		},
		ReadState: state.Read,
		OpenModem: openModem,
		LookPath:  exec.LookPath,
		PeersDir:  DefaultPeersDir,
		Dial:      (&net.Dialer{}).DialContext,
		HTTP:      &http.Client{},
		Timeout:   DefaultTimeout,
	}
	if runtime.GOOS == "linux" {
		d.Holders = modem.ProcHolders{Proc: os.DirFS("/proc"), Self: os.Getpid()}
		d.Clock = trigger.SystemClock{}
	}
	return d
}

// openModem opens the AT port as the daemon would, but without the PIN
// (doctor never spends a PIN try: a rejected one must be remembered in
// the daemon's state) and without indications.
func openModem(ctx context.Context, cfg *config.Config) (Modem, error) {
	m, err := modem.Open(ctx, cfg.Modem.Port,
		modem.WithBaud(cfg.Modem.Baud),
		modem.WithCommandTimeout(cfg.Modem.CommandTimeout),
		modem.WithIndications(false),
		modem.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return m, nil
}

// Run runs every check and returns the report. It never dials the link.
func (d *Doctor) Run(ctx context.Context) *Report {
	r := &Report{}
	r.start(SectionModem)
	cfg := d.config(r)
	if cfg == nil {
		r.skip("the rest", "not checked: the config does not load (see above)")
		return r
	}
	d.modem(ctx, cfg, r)
	r.start(SectionDialer)
	d.dialer(cfg, r)
	r.start(SectionKey)
	d.identity(cfg, r)
	r.start(SectionJumpHost)
	d.jumpHost(ctx, cfg, r)
	r.start(SectionRest)
	d.pushover(ctx, cfg, r)
	d.clock(r)
	return r
}

func (d *Doctor) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

// config checks the config as check-config does. When it has problems,
// the other checks go on with what the file says (its values, without the
// file checks), so that one missing file does not hide everything else.
func (d *Doctor) config(r *Report) *config.Config {
	cfg, err := config.Load(d.ConfigPath, config.RejectPlaceholders())
	if err == nil {
		res := r.pass("config", d.ConfigPath+" is valid")
		for _, w := range cfg.Warnings {
			res.More = append(res.More, "warning: "+w.String())
		}
		return cfg
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		r.fail("config", err.Error(), "correct "+d.ConfigPath)
		return nil
	}
	lenient, err := config.Load(d.ConfigPath, config.WithoutFileChecks())
	if err != nil {
		lenient = nil
	}
	for _, p := range ps {
		r.fail("config", p.String(), d.configFix(p, lenient))
	}
	return lenient
}

// configFix is what to do about a config problem: the command that makes
// a missing file or directory a newcomer has yet to make, else the key to
// correct.
func (d *Doctor) configFix(p config.Problem, cfg *config.Config) string {
	missing := strings.Contains(p.Msg, "no such file or directory")
	switch {
	case cfg != nil && missing && p.Path == "state_dir":
		return "make it: install -d -m 0700 " + cfg.StateDir
	case cfg != nil && missing && p.Path == "trigger.secret_file":
		return "make one: oobd secret --file " + cfg.Trigger.SecretFile
	case cfg != nil && missing && p.Path == "tunnel.identity_file":
		return "make one: " + keygen(cfg.Tunnel.IdentityFile)
	case p.Path != "" && strings.HasPrefix(p.Msg, "missing"):
		return "set " + p.Path + " in " + d.ConfigPath
	case p.Path != "":
		return "correct " + p.Path + " in " + d.ConfigPath
	}
	return "correct " + d.ConfigPath
}

// closeQuietly closes c; doctor has nothing to say about a failed close.
func closeQuietly(c io.Closer) { c.Close() }
