package doctor

import (
	"os"
	"strings"
	"testing"

	"github.com/oobd/oobd/modem"
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
