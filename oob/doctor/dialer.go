package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/oobd/oobd/oob/config"
)

// The dialer checks: link.up_command[0] is there, and for pppd, the peer
// file `call NAME` reads, its chat script (no APN placeholder left) and
// its device (the modem's data port).

// APNPlaceholder is what configs/ppp/chat/oob holds in place of the APN.
const APNPlaceholder = "APN_HERE"

// The example files, where the packages install them and in the
// repository, for the fixes.
const (
	examplePeer = "/usr/share/doc/oobd/examples/ppp/peers/oob"
	exampleChat = "/usr/share/doc/oobd/examples/ppp/chat/oob"
	inRepo      = " (in the repository: configs/ppp/)"
)

func (d *Doctor) dialer(cfg *config.Config, r *Report) {
	argv := cfg.Link.UpCommand
	if len(argv) == 0 || argv[0] == "" {
		r.fail("dialer", "link.up_command is empty: nothing would dial", "set link.up_command, e.g. [pppd, call, oob, nodetach]")
		return
	}
	isPPPD := filepath.Base(argv[0]) == "pppd"
	if path, err := d.LookPath(argv[0]); err != nil {
		fix := "install it, or give its full path in link.up_command"
		if isPPPD {
			fix = "install pppd: 'apt install ppp'"
		}
		r.fail("dialer", fmt.Sprintf("%s: %v", argv[0], unwrapAll(err)), fix)
	} else {
		r.pass("dialer", argv[0]+" is "+path)
	}
	if !isPPPD {
		r.skip("peer file", "not checked: link.up_command is not pppd")
		return
	}
	call := ""
	for i := 1; i+1 < len(argv); i++ {
		if argv[i] == "call" {
			call = argv[i+1]
		}
	}
	if call == "" {
		r.skip("peer file", "not checked: link.up_command has no 'call NAME' (pppd then reads only /etc/ppp/options)")
		return
	}
	peerPath := filepath.Join(d.PeersDir, call)
	b, err := os.ReadFile(peerPath)
	if err != nil {
		r.fail("peer file", fmt.Sprintf("%s (for 'call %s'): %v", peerPath, call, unwrapAll(err)),
			"install the example"+inRepo+": install -m 0600 "+examplePeer+" "+peerPath)
		return
	}
	r.pass("peer file", peerPath)
	peer := parsePeer(string(b))
	d.chatScript(peerPath, peer, r)

	// A device on the command line wins over the peer file's.
	dev, from := peer.device, peerPath
	if cmd := parsePeer(strings.Join(quoteAll(argv[1:]), " ")); cmd.device != "" {
		dev, from = cmd.device, "link.up_command"
	}
	dataPort(cfg, dev, from, r)
}

// chatScript checks the chat script the peer's connect line runs: it must
// not hold the APN placeholder.
func (d *Doctor) chatScript(peerPath string, peer peerOptions, r *Report) {
	if peer.connect == "" {
		r.fail("chat script", peerPath+" has no connect line: pppd would not dial the modem",
			`add the line connect "/usr/sbin/chat -v -f /etc/ppp/chat/oob", as in `+examplePeer)
		return
	}
	file := chatFile(peer.connect)
	script, where := peer.connect, "the connect line of "+peerPath
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			r.fail("chat script", fmt.Sprintf("%s (from %s): %v", file, peerPath, unwrapAll(err)),
				"install the example"+inRepo+", then put your APN in place of "+APNPlaceholder+": install -D -m 0644 "+exampleChat+" "+file)
			return
		}
		script, where = string(b), file
	}
	if strings.Contains(script, APNPlaceholder) {
		fix := fmt.Sprintf("put your carrier's APN in its place ('oobd modem info' suggests one): sed -i 's/%s/YOUR.APN/' %s", APNPlaceholder, where)
		if file == "" {
			fix = "put your carrier's APN in its place in " + peerPath
		}
		r.fail("chat script", where+" still has the placeholder "+APNPlaceholder, fix)
		return
	}
	if m := cgdcont.FindStringSubmatch(script); m != nil {
		r.pass("chat script", fmt.Sprintf("%s sets the APN %q", where, m[1]))
	} else {
		r.pass("chat script", where+" sets no APN (AT+CGDCONT): the modem's stored one is used")
	}
}

var cgdcont = regexp.MustCompile(`(?i)\+CGDCONT=\d+,"[^"]*","([^"]*)"`)

// dataPort checks that pppd dials on the modem's data port: modem.data_port,
// or modem.port on a single-port modem.
func dataPort(cfg *config.Config, dev, from string, r *Report) {
	want, key := cfg.Modem.DataPort, "modem.data_port"
	if cfg.Modem.SinglePort() {
		want, key = cfg.Modem.Port, "modem.port (one AT port: pppd borrows it)"
	}
	if dev == "" {
		r.fail("data port", from+" names no device: pppd would dial on its own terminal",
			"put the data port on a line of its own in "+from+": "+want)
		return
	}
	realDev, devErr := filepath.EvalSymlinks(dev)
	realWant, wantErr := filepath.EvalSymlinks(want)
	switch {
	case dev == want || devErr == nil && wantErr == nil && realDev == realWant:
		detail := fmt.Sprintf("%s dials on %s, which is %s", from, dev, key)
		if devErr == nil && realDev != dev {
			detail += " (" + realDev + ")"
		}
		if devErr != nil {
			detail += " (not there now: the modem is unplugged?)"
		}
		r.pass("data port", detail)
	case devErr != nil:
		r.fail("data port", fmt.Sprintf("%s dials on %s, which is not there: %v", from, dev, unwrapAll(devErr)),
			fmt.Sprintf("name the modem's data port there: %s (%s); prefer its /dev/serial/by-id/ name", want, key))
	default:
		r.fail("data port", fmt.Sprintf("%s dials on %s (%s), but %s is %s", from, dev, realDev, key, want),
			fmt.Sprintf("make them the same port: put %s in %s, or correct %s", want, from, strings.Fields(key)[0]))
	}
}

// peerOptions is what doctor reads of a pppd options file.
type peerOptions struct {
	connect string // the connect option's command
	device  string // the serial device, "/dev/…"
}

// pppdArgOptions are pppd options that take an argument: the argument is
// never the device, even when it names one (logfile /dev/null).
var pppdArgOptions = map[string]bool{
	"connect": true, "disconnect": true, "init": true, "welcome": true, "file": true, "call": true,
	"user": true, "password": true, "remotename": true, "name": true, "unit": true, "ifname": true,
	"linkname": true, "ipparam": true, "logfile": true, "logfd": true, "mru": true, "mtu": true,
	"asyncmap": true, "escape": true, "idle": true, "holdoff": true, "maxfail": true, "connect-delay": true,
	"lcp-echo-interval": true, "lcp-echo-failure": true, "lcp-restart": true, "lcp-max-configure": true,
	"lcp-max-failure": true, "lcp-max-terminate": true, "ipcp-restart": true, "ipcp-max-configure": true,
	"ipcp-max-failure": true, "ipcp-max-terminate": true, "pap-restart": true, "pap-max-authreq": true,
	"pap-timeout": true, "chap-restart": true, "chap-max-challenge": true, "chap-interval": true,
	"ms-dns": true, "ms-wins": true, "remotenumber": true, "plugin": true, "record": true,
	"active-filter": true, "pass-filter": true, "netmask": true, "defaultroute-metric": true,
	"lock-file": true, "pidfile": true, "child-timeout": true, "max-connect": true, "crtscts-mode": true,
}

// parsePeer reads pppd options (an options file, or a command line): words
// split at white space, "…" and '…' quoting, \ escapes, # comments to the
// end of the line. The device is a word naming one (/dev/ttyUSB0, or
// ttyUSB0 as pppd accepts it) that is not an option's argument.
func parsePeer(text string) peerOptions {
	var p peerOptions
	words := pppdWords(text)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if pppdArgOptions[w] {
			if i+1 < len(words) && w == "connect" {
				p.connect = words[i+1]
			}
			i++
			continue
		}
		switch {
		case strings.HasPrefix(w, "/dev/"):
			p.device = w
		case !strings.Contains(w, "/") && (strings.HasPrefix(w, "tty") || strings.HasPrefix(w, "cua")) && len(w) > 3:
			p.device = "/dev/" + w
		}
	}
	return p
}

func pppdWords(text string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0:
			switch {
			case c == quote:
				quote = 0
			case c == '\\' && i+1 < len(rs):
				i++
				w.WriteRune(rs[i])
			default:
				w.WriteRune(c)
			}
		case c == '#' && !inWord:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// quoteAll quotes each word for pppdWords, so a command line parses as
// the words it is.
func quoteAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = `"` + strings.ReplaceAll(strings.ReplaceAll(w, `\`, `\\`), `"`, `\"`) + `"`
	}
	return out
}

// chatFile is the script a connect command runs with `chat … -f FILE`;
// "" when it runs none (an inline script).
func chatFile(connect string) string {
	f := strings.Fields(connect)
	if len(f) == 0 || filepath.Base(f[0]) != "chat" {
		return ""
	}
	for i := 1; i+1 < len(f); i++ {
		if f[i] == "-f" {
			return strings.Trim(f[i+1], `"'`)
		}
	}
	return ""
}
