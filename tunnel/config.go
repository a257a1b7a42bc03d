package tunnel

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultKeepalive        = 15 * time.Second
	DefaultHandshakeTimeout = 30 * time.Second
)

// DefaultForwardRetry is how long a refused forward is asked for again
// before a connection attempt fails (WithForwardRetry). The usual refusal
// is a port still held by an earlier session of this agent that died with
// its link; the jump host lets it go once its ClientAlive probes give up.
// Measured with OpenSSH 9.2 and ClientAliveCountMax 2 (the example's),
// that is 6 × ClientAliveInterval after the session went silent: 90s for
// the example's 15s, not the 30s that sshd_config(5) suggests.
const DefaultForwardRetry = 2 * time.Minute

// Forward is one remote forward: Remote is listened on by the jump host,
// Local is where this box connects each forwarded connection to.
//
// It is the one declaration of a configured forward: oobd.yaml's
// tunnel.forwards entries decode into it, and the state file, the control
// socket and the notices carry it inside [BoundForward].
type Forward struct {
	// Remote is "host:port" on the jump host. The host is sent as written
	// ("localhost" stays a name); port 0 lets the server pick.
	Remote string `json:"remote" yaml:"remote"`
	// Local is "host:port" on this box.
	Local string `json:"local" yaml:"local"`
}

// Config describes the tunnel.
type Config struct {
	// JumpHost is "host:port". It is also the name looked up in known_hosts
	// ("host" for port 22, "[host]:port" otherwise).
	JumpHost string
	// User is the login name on the jump host.
	User string
	// IdentityFile is an unencrypted private key (ed25519, ECDSA or RSA).
	IdentityFile string
	// KnownHostsFile holds the jump host's key; nothing else is trusted.
	KnownHostsFile string
	// Keepalive is the interval of keepalive@openssh.com probes; after
	// MaxMissedKeepalives unanswered ones the connection is dropped and made
	// again. 0 means DefaultKeepalive.
	Keepalive time.Duration
	// HandshakeTimeout bounds the SSH handshake and every request that waits
	// for a reply. 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Forwards are the remote forwards; at least one.
	Forwards []Forward
	// Logger receives the tunnel's log; nil discards it.
	Logger *slog.Logger
}

// MaxMissedKeepalives is how many keepalive intervals may pass without a
// reply before the connection counts as dead.
const MaxMissedKeepalives = 3

// Validate reports every problem with the config, joined.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseHostPort(c.JumpHost, false); err != nil {
		errs = append(errs, fmt.Errorf("jump host: %w", err))
	}
	if c.User == "" {
		errs = append(errs, errors.New("user: empty"))
	}
	if c.IdentityFile == "" {
		errs = append(errs, errors.New("identity file: empty"))
	}
	if c.KnownHostsFile == "" {
		errs = append(errs, errors.New("known hosts file: empty"))
	}
	if c.Keepalive < 0 {
		errs = append(errs, fmt.Errorf("keepalive: negative (%v)", c.Keepalive))
	}
	if c.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("handshake timeout: negative (%v)", c.HandshakeTimeout))
	}
	if len(c.Forwards) == 0 {
		errs = append(errs, errors.New("forwards: none"))
	}
	seen := map[string]bool{}
	for i, f := range c.Forwards {
		r, err := parseHostPort(f.Remote, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("forwards[%d].remote: %w", i, err))
		} else if r.port != 0 {
			key := net.JoinHostPort(r.host, strconv.Itoa(r.port))
			if seen[key] {
				errs = append(errs, fmt.Errorf("forwards[%d].remote: %s listed twice", i, f.Remote))
			}
			seen[key] = true
		}
		if _, err := parseHostPort(f.Local, false); err != nil {
			errs = append(errs, fmt.Errorf("forwards[%d].local: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tunnel: config: %w", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Keepalive == 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Forwards = append([]Forward(nil), c.Forwards...)
	return c
}

type hostPort struct {
	host string
	port int
}

// parseHostPort checks "host:port"; zeroPort allows port 0. An empty host is
// refused: the jump host's meaning of it (all addresses) should be asked for
// explicitly.
func parseHostPort(s string, zeroPort bool) (hostPort, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return hostPort{}, fmt.Errorf("%q: want host:port: %w", s, err)
	}
	if host == "" {
		return hostPort{}, fmt.Errorf("%q: empty host", s)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 || (port == 0 && !zeroPort) {
		return hostPort{}, fmt.Errorf("%q: bad port %q", s, p)
	}
	return hostPort{host: host, port: port}, nil
}
