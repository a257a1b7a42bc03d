package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/config"
)

func TestParsePeer(t *testing.T) {
	tests := []struct {
		name, text      string
		device, connect string
	}{
		{"the shape of the example", "# comment\n/dev/ttyUSB0\n460800\nconnect \"/usr/sbin/chat -v -f /etc/ppp/chat/oob\"\ncrtscts\n",
			"/dev/ttyUSB0", "/usr/sbin/chat -v -f /etc/ppp/chat/oob"},
		{"a bare tty name", "ttyUSB1 115200 connect 'chat -f /x'", "/dev/ttyUSB1", "chat -f /x"},
		{"an option's argument is no device", "logfile /dev/null\n/dev/serial/by-id/usb-x-if00-port0\n",
			"/dev/serial/by-id/usb-x-if00-port0", ""},
		{"commented out", "# /dev/ttyUSB0\n#connect \"chat\"\n", "", ""},
		{"a comment after a word", "/dev/ttyUSB0 # the data port\n", "/dev/ttyUSB0", ""},
		{"# inside a word", "user oob#1 /dev/ttyUSB0", "/dev/ttyUSB0", ""},
		{"escapes and quotes", `connect "chat -v -f \"/etc/ppp/my chat\""` + "\n" + `/dev/tty\USB3`, "/dev/ttyUSB3", `chat -v -f "/etc/ppp/my chat"`},
		{"the last device wins", "/dev/ttyUSB0\n/dev/ttyUSB2\n", "/dev/ttyUSB2", ""},
		{"an unterminated quote", `connect "chat -f /x`, "", "chat -f /x"},
		{"tty alone is no device", "tty", "", ""},
	}
	for _, tt := range tests {
		p := parsePeer(tt.text)
		if p.device != tt.device || p.connect != tt.connect {
			t.Errorf("%s: parsePeer = %+v, want device %q, connect %q", tt.name, p, tt.device, tt.connect)
		}
	}
}

func TestChatFile(t *testing.T) {
	tests := []struct{ connect, want string }{
		{"/usr/sbin/chat -v -f /etc/ppp/chat/oob", "/etc/ppp/chat/oob"},
		{"chat -f '/etc/ppp/chat/oob'", "/etc/ppp/chat/oob"},
		{`/usr/sbin/chat -v "" AT OK ATD*99# CONNECT ""`, ""}, // an inline script
		{"/etc/ppp/dial.sh -f /x", ""},                        // not chat
		{"chat -f", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := chatFile(tt.connect); got != tt.want {
			t.Errorf("chatFile(%q) = %q, want %q", tt.connect, got, tt.want)
		}
	}
}

// The peer file and chat script the project ships read as doctor expects:
// the data port, the chat script by -f, and the placeholder it looks for.
func TestShippedPPPFiles(t *testing.T) {
	peer, err := os.ReadFile("../../configs/ppp/peers/oob")
	if err != nil {
		t.Fatal(err)
	}
	p := parsePeer(string(peer))
	if p.device != "/dev/ttyUSB0" || chatFile(p.connect) != "/etc/ppp/chat/oob" {
		t.Errorf("configs/ppp/peers/oob reads as %+v (chat file %q)", p, chatFile(p.connect))
	}
	chat, err := os.ReadFile("../../configs/ppp/chat/oob")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(chat), APNPlaceholder) {
		t.Errorf("configs/ppp/chat/oob has no %s", APNPlaceholder)
	}
	if m := cgdcont.FindStringSubmatch(string(chat)); m == nil || m[1] != APNPlaceholder {
		t.Errorf("the APN of configs/ppp/chat/oob reads as %q", m)
	}
}

func TestQuoteAllKeepsWords(t *testing.T) {
	words := []string{"call", `my "peer"`, `back\slash`, ""}
	got := pppdWords(strings.Join(quoteAll(words), " "))
	if strings.Join(got, "|") != strings.Join(words, "|") {
		t.Errorf("pppdWords(quoteAll(%q)) = %q", words, got)
	}
}

func TestHolderList(t *testing.T) {
	hs := []modem.Holder{{PID: 1, Name: "a"}, {PID: 2, Name: "b"}, {PID: 3, Name: "c"}, {PID: 4, Name: "d"}, {PID: 5, Name: "e"}}
	tests := []struct {
		n    int
		want string
	}{
		{1, "a (PID 1)"},
		{3, "a (PID 1), b (PID 2), c (PID 3)"},
		{5, "a (PID 1), b (PID 2), c (PID 3), and 2 more"},
	}
	for _, tt := range tests {
		if got := holderList(hs[:tt.n]); got != tt.want {
			t.Errorf("holderList(%d holders) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// pppd's device and modem.data_port may name the same port by different
// paths (/dev/ttyUSB0 and its /dev/serial/by-id/ link): the same port
// passes, another fails.
func TestDataPortThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ttyUSB0", "ttyUSB2"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	byID := filepath.Join(dir, "usb-HUAWEI-if00-port0")
	if err := os.Symlink(filepath.Join(dir, "ttyUSB0"), byID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dataPort, dev string
		want                Status
		detail              string
	}{
		{"by-id in the config, tty in the peer", byID, filepath.Join(dir, "ttyUSB0"), Pass, "which is modem.data_port"},
		{"tty in the config, by-id in the peer", filepath.Join(dir, "ttyUSB0"), byID, Pass, "(" + filepath.Join(dir, "ttyUSB0") + ")"},
		{"another port", byID, filepath.Join(dir, "ttyUSB2"), Fail, "but modem.data_port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{}
			cfg.Modem.Port, cfg.Modem.DataPort = filepath.Join(dir, "ttyUSB2"), tt.dataPort
			var r Report
			dataPort(cfg, tt.dev, "/etc/ppp/peers/oob", &r)
			res := r.Find("data port")
			if len(res) != 1 || res[0].Status != tt.want || !strings.Contains(res[0].Detail, tt.detail) {
				t.Fatalf("data port check = %+v, want %v with %q", res, tt.want, tt.detail)
			}
		})
	}
}
