package tunnel

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestValidate(t *testing.T) {
	good := Config{
		JumpHost: "jump.example.net:22", User: "oob", IdentityFile: "/id", KnownHostsFile: "/kh",
		Keepalive: 15 * time.Second,
		Forwards:  []Forward{{Remote: "localhost:31337", Local: "localhost:22"}, {Remote: "localhost:0", Local: "127.0.0.1:2323"}},
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error; none means valid
	}{
		{"good", func(*Config) {}, nil},
		{"ipv6 jump host", func(c *Config) { c.JumpHost = "[2001:db8::1]:2222" }, nil},
		{"no port", func(c *Config) { c.JumpHost = "jump.example.net" }, []string{"jump host"}},
		{"port 0 jump host", func(c *Config) { c.JumpHost = "jump:0" }, []string{"jump host", "bad port"}},
		{"port too big", func(c *Config) { c.JumpHost = "jump:70000" }, []string{"bad port"}},
		{"empty host", func(c *Config) { c.JumpHost = ":22" }, []string{"empty host"}},
		{"everything missing", func(c *Config) { *c = Config{} }, []string{"jump host", "user", "identity file", "known hosts file", "forwards: none"}},
		{"negative durations", func(c *Config) { c.Keepalive = -1; c.HandshakeTimeout = -1 }, []string{"keepalive", "handshake timeout"}},
		{"local port 0", func(c *Config) { c.Forwards[0].Local = "localhost:0" }, []string{"forwards[0].local"}},
		{"duplicate remote", func(c *Config) { c.Forwards[1].Remote = "localhost:31337" }, []string{"listed twice"}},
		{"two port-0 remotes are fine", func(c *Config) { c.Forwards[0].Remote = "localhost:0" }, nil},
		{"bad remote", func(c *Config) { c.Forwards[1].Remote = "localhost" }, []string{"forwards[1].remote"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Forwards = append([]Forward(nil), good.Forwards...)
			tt.edit(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestAlgorithmsFor(t *testing.T) {
	tests := []struct {
		have []string
		want string
	}{
		{nil, ""},
		{[]string{ssh.KeyAlgoED25519}, "ssh-ed25519"},
		{[]string{ssh.KeyAlgoRSA}, "rsa-sha2-512,rsa-sha2-256"},
		{[]string{ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoED25519}, "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"},
		{[]string{"unknown-type"}, ""},
	}
	for _, tt := range tests {
		have := map[string]bool{}
		for _, h := range tt.have {
			have[h] = true
		}
		if got := strings.Join(algorithmsFor(have), ","); got != tt.want {
			t.Errorf("algorithmsFor(%v) = %q, want %q", tt.have, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tun := &Tunnel{opt: options{backoffMin: time.Second, backoffMax: 8 * time.Second}}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 10: 8 * time.Second} {
		got := tun.backoff(n)
		if got > want || got < want*3/4 {
			t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, got, want*3/4, want)
		}
	}
}

// The first reconnect after a loss goes at once; the rest back off.
func TestReconnectDelay(t *testing.T) {
	tun := &Tunnel{opt: options{backoffMin: time.Second, backoffMax: 8 * time.Second}}
	for _, tt := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 0, 0},
		{2, 750 * time.Millisecond, time.Second},
		{3, 1500 * time.Millisecond, 2 * time.Second},
		{20, 6 * time.Second, 8 * time.Second},
	} {
		if got := tun.reconnectDelay(tt.n); got < tt.min || got > tt.max {
			t.Errorf("reconnectDelay(%d) = %v, want within [%v, %v]", tt.n, got, tt.min, tt.max)
		}
	}
}

// FuzzParseHostPort: config addresses never panic and accepted ones are
// well formed.
func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"localhost:22", "[::1]:0", "jump.example.net:65535", ":22", "host:", "host:-1", "[::1", "a:b:c", "host:99999999999999999999"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, zero bool) {
		hp, err := parseHostPort(s, zero)
		if err != nil {
			return
		}
		if hp.host == "" || hp.port < 0 || hp.port > 65535 || (hp.port == 0 && !zero) {
			t.Fatalf("accepted %q as %+v", s, hp)
		}
	})
}
