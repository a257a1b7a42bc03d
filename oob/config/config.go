// Package config reads and checks oobd.yaml: the typed configuration the
// agent runs on, with defaults for what the file leaves out, strict keys,
// and every problem reported with its key path and line.
package config

import (
	"runtime"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// Config is the whole of oobd.yaml, with defaults filled in and the secret
// files read.
type Config struct {
	StateDir string  `yaml:"state_dir"`
	Modem    Modem   `yaml:"modem"`
	Trigger  Trigger `yaml:"trigger"`
	Link     Link    `yaml:"link"`
	Session  Session `yaml:"session"`
	Tunnel   Tunnel  `yaml:"tunnel"`
	Console  Console `yaml:"console"`
	Notify   Notify  `yaml:"notify"`
	Health   Health  `yaml:"health"`
	Drill    Drill   `yaml:"drill"`

	// Path is the file the config was read from.
	Path string `yaml:"-"`
	// Secrets holds the contents of the secret files, trimmed.
	Secrets Secrets `yaml:"-"`
	// Warnings are things worth knowing that do not stop oobd from
	// running (a modem port that is not plugged in yet).
	Warnings Problems `yaml:"-"`
}

// Modem is the "modem" section.
type Modem struct {
	Port            string        `yaml:"port"`
	DataPort        string        `yaml:"data_port"`
	Baud            int           `yaml:"baud"`
	PINFile         string        `yaml:"pin_file"`
	CommandTimeout  time.Duration `yaml:"command_timeout"`
	RecoveryCommand []string      `yaml:"recovery_command"`
	// OwnNumber is the SIM's own number, for drill.sms_loop; "" asks the
	// SIM (AT+CNUM). OwnE164 is it in E.164, set by Load.
	OwnNumber string `yaml:"own_number"`
	OwnE164   string `yaml:"-"`
}

// SinglePort reports whether PPP takes the AT port for the session, so no
// SMS can be read while the link is up.
func (m Modem) SinglePort() bool { return m.DataPort == "" || m.DataPort == m.Port }

// Trigger is the "trigger" section.
type Trigger struct {
	Schedule       string        `yaml:"schedule"`
	URC            bool          `yaml:"urc"`
	Senders        []string      `yaml:"senders"`
	CountryCode    string        `yaml:"country_code"`
	SecretFile     string        `yaml:"secret_file"`
	TOTPSecretFile string        `yaml:"totp_secret_file"`
	MaxFailures    int           `yaml:"max_failures"`
	Lockout        time.Duration `yaml:"lockout"`
	MaxAge         time.Duration `yaml:"max_age"`

	// Allowlist is Senders in E.164, set by Load.
	Allowlist []string `yaml:"-"`
}

// Link is the "link" section.
type Link struct {
	UpCommand []string      `yaml:"up_command"`
	Interface string        `yaml:"interface"`
	DNS       []string      `yaml:"dns"`
	Attempts  int           `yaml:"attempts"`
	UpTimeout time.Duration `yaml:"up_timeout"`
	PinRoute  bool          `yaml:"pin_route"`
}

// Session is the "session" section.
type Session struct {
	Duration    time.Duration `yaml:"duration"`
	MaxDuration time.Duration `yaml:"max_duration"`
	// DataBudget is in bytes; 0 means no budget.
	DataBudget Size `yaml:"data_budget"`
}

// Tunnel is the "tunnel" section.
type Tunnel struct {
	JumpHost     string           `yaml:"jump_host"`
	User         string           `yaml:"user"`
	IdentityFile string           `yaml:"identity_file"`
	KnownHosts   string           `yaml:"known_hosts"`
	Keepalive    time.Duration    `yaml:"keepalive"`
	Forwards     []tunnel.Forward `yaml:"forwards"`
}

// Console is the optional "console" section; Device "" turns it off.
type Console struct {
	Device  string `yaml:"device"`
	Baud    int    `yaml:"baud"`
	Listen  string `yaml:"listen"`
	History Size   `yaml:"history"`
	// IdleTimeout frees the keyboard of a client that typed nothing for
	// this long; 0 never does.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Notify is the "notify" section.
type Notify struct {
	Pushover Pushover `yaml:"pushover"`
	SMS      []string `yaml:"sms"`

	// SMSNumbers is SMS in E.164, set by Load.
	SMSNumbers []string `yaml:"-"`
}

// Pushover is "notify.pushover"; it is off when both keys are empty.
type Pushover struct {
	TokenFile string `yaml:"token_file"`
	UserKey   string `yaml:"user_key"`
	APIURL    string `yaml:"api_url"`
}

// Enabled reports whether pushes are configured.
func (p Pushover) Enabled() bool { return p.TokenFile != "" || p.UserKey != "" }

// Health is the "health" section.
type Health struct {
	Listen string `yaml:"listen"`
}

// Drill is the "drill" section.
type Drill struct {
	Schedule string `yaml:"schedule"`
	// SMSLoop also texts the SIM's own number and waits for it to come
	// back: the inbox proven end to end, at the cost of one SMS a drill.
	SMSLoop bool `yaml:"sms_loop"`
}

// Secrets are the trimmed contents of the secret files.
type Secrets struct {
	Trigger       Secret // trigger.secret_file
	TOTPKey       Secret // trigger.totp_secret_file, base32-decoded; nil when TOTP is off
	PushoverToken Secret // notify.pushover.token_file
}

// Secret is secret material: it formats, marshals and logs as
// "[redacted]" so it cannot leak by accident.
type Secret []byte

const redacted = "[redacted]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) Bytes() []byte              { return []byte(s) }

// Default returns the configuration an empty file gives, for this OS.
func Default() Config {
	return defaultFor(runtime.GOOS)
}

func defaultFor(goos string) Config {
	c := Config{
		StateDir: "/var/lib/oobd",
		Modem: Modem{
			Baud:           115200,
			CommandTimeout: 5 * time.Second,
		},
		Trigger: Trigger{
			Schedule:    "@every 1m",
			URC:         true,
			MaxFailures: 5,
			Lockout:     time.Hour,
			MaxAge:      15 * time.Minute,
		},
		Link: Link{
			UpCommand: []string{"pppd", "call", "oob", "nodetach"},
			Interface: "ppp0",
			Attempts:  3,
			UpTimeout: 60 * time.Second,
			PinRoute:  true,
		},
		Session: Session{
			Duration:    30 * time.Minute,
			MaxDuration: 4 * time.Hour,
			DataBudget:  50 * 1000 * 1000,
		},
		Tunnel: Tunnel{
			User:      "oob",
			Keepalive: 15 * time.Second,
		},
		Console: Console{
			Baud:        57600,
			History:     256 * 1000,
			IdleTimeout: 30 * time.Minute,
		},
	}
	if goos == "freebsd" {
		c.StateDir = "/var/db/oobd"
		c.Link.UpCommand = []string{"ppp", "-foreground", "oob"}
		c.Link.Interface = "tun0"
	}
	return c
}
