package console

import (
	"fmt"
	"strings"
	"testing"
)

// show renders events compactly: data quoted, actions by name.
func show(evs []event) string {
	names := map[action]string{actTake: "TAKE", actBreak: "BREAK", actHelp: "HELP", actQuit: "QUIT"}
	var parts []string
	for _, e := range evs {
		if e.act == actData {
			parts = append(parts, fmt.Sprintf("%q", e.data))
		} else {
			parts = append(parts, names[e.act])
		}
	}
	return strings.Join(parts, " ")
}

func TestInput(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		events string
		reply  string
	}{
		{"plain text", "show run\r", `"show run\r"`, ""},
		{"take over", "ab\x1etcd", `"ab" TAKE "cd"`, ""},
		{"break", "\x1eb", `BREAK`, ""},
		{"break, capital", "\x1eB", `BREAK`, ""},
		{"help", "\x1e?", `HELP`, ""},
		{"quit", "x\x1e.y", `"x" QUIT "y"`, ""},
		{"escape twice sends it once", "\x1e\x1e", `"\x1e"`, ""},
		{"escape then another key: both go on", "\x1ex", `"\x1ex"`, ""},
		{"escape, then escape twice", "\x1e\x1e\x1et", `"\x1e" TAKE`, ""},
		{"tilde is data", "~.~b", `"~.~b"`, ""},
		{"telnet's own escape is data", "\x1d", `"\x1d"`, ""},
		{"IAC IAC is a 255", "a\xff\xffb", `"a\xffb"`, ""},
		{"our offer accepted: no answer", "\xff\xfd\x01\xff\xfd\x03", ``, ""},
		{"our offer refused: no answer", "\xff\xfe\x01", ``, ""},
		{"an option we lack is refused", "\xff\xfd\x18", ``, "\xff\xfc\x18"},
		{"the client's SGA is welcome", "\xff\xfb\x03\xff\xfb\x03", ``, "\xff\xfd\x03"},
		{"the client's NAWS is not", "\xff\xfb\x1f", ``, "\xff\xfe\x1f"},
		{"ECHO turned off after agreeing", "\xff\xfd\x01\xff\xfe\x01\xff\xfe\x01", ``, "\xff\xfc\x01"},
		{"WONT for what is off: no answer", "\xff\xfc\x18", ``, ""},
		{"subnegotiation dropped", "a\xff\xfa\x1f\x00\x50\xff\xff\x18\xff\xf0b", `"ab"`, ""},
		{"telnet BRK", "\xff\xf3", `BREAK`, ""},
		{"telnet IP is Ctrl-C", "\xff\xf4", `"\x03"`, ""},
		{"NOP and GA dropped", "a\xff\xf1\xff\xf9b", `"ab"`, ""},
		{"telnet CR NUL is CR", "\xff\xf1ls\r\x00pwd\r\n", `"ls\rpwd\r\n"`, ""},
		{"a raw client's NUL stays", "\r\x00", `"\r\x00"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and byte by byte: reads split anywhere.
			for _, split := range []bool{false, true} {
				in := newInput()
				var evs []event
				var reply []byte
				feed := func(p string) {
					e, r := in.feed([]byte(p))
					evs = append(evs, e...)
					reply = append(reply, r...)
				}
				if split {
					for i := range len(tt.in) {
						feed(tt.in[i : i+1])
					}
				} else {
					feed(tt.in)
				}
				if got := show(merge(evs)); got != tt.events {
					t.Errorf("split=%v: events %s, want %s", split, got, tt.events)
				}
				if string(reply) != tt.reply {
					t.Errorf("split=%v: reply %q, want %q", split, reply, tt.reply)
				}
			}
		})
	}
}

// merge joins neighbouring data events, as one read would have made them.
func merge(evs []event) []event {
	var out []event
	for _, e := range evs {
		if n := len(out); n > 0 && e.act == actData && out[n-1].act == actData {
			out[n-1].data = append(out[n-1].data, e.data...)
			continue
		}
		out = append(out, e)
	}
	return out
}

func TestEscapeIAC(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"plain":          "plain",
		"\xff":           "\xff\xff",
		"a\xffb\xff\xff": "a\xff\xffb\xff\xff\xff\xff",
	} {
		if got := string(escapeIAC([]byte(in))); got != want {
			t.Errorf("escapeIAC(%q) = %q, want %q", in, got, want)
		}
	}
}

// However the bytes are split into reads, the parse is the same.
func FuzzInput(f *testing.F) {
	f.Add([]byte("show run\r\x1et\xff\xfd\x01\xff\xfa\x1f\xff\xf0\r\x00"))
	f.Fuzz(func(t *testing.T, p []byte) {
		whole := newInput()
		evs, reply := whole.feed(p)
		bytewise := newInput()
		var evs2 []event
		var reply2 []byte
		for i := range p {
			e, r := bytewise.feed(p[i : i+1])
			evs2 = append(evs2, e...)
			reply2 = append(reply2, r...)
		}
		if a, b := show(merge(evs)), show(merge(evs2)); a != b || string(reply) != string(reply2) {
			t.Fatalf("whole: %s %q; byte by byte: %s %q", a, reply, b, reply2)
		}
	})
}
