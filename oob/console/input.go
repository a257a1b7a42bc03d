package console

// What a client types goes through two layers before it reaches the
// router. Telnet (RFC 854): option negotiation, subnegotiation and other
// commands are answered or dropped, never forwarded; IAC IAC is a data
// 255; CR NUL is a bare CR; IAC BRK is a BREAK and IAC IP a Ctrl-C.
// Then the bridge's own keys: Ctrl-^ followed by a command letter.

// escKey starts a key sequence: Ctrl-^ (Ctrl-Shift-6). Not `~`, which
// OpenSSH's client takes at the start of a line, nor Ctrl-], which telnet
// takes. Cisco's own escape (abort a ping, Ctrl-^ x) is the same key: a
// Ctrl-^ followed by anything that is not a command reaches the router
// as typed, and Ctrl-^ Ctrl-^ sends one.
const escKey = 0x1e

// Telnet commands and options (RFC 854, 857, 858).
const (
	tnSE   = 240
	tnNOP  = 241
	tnBRK  = 243
	tnIP   = 244
	tnSB   = 250
	tnWILL = 251
	tnWONT = 252
	tnDO   = 253
	tnDONT = 254
	tnIAC  = 255

	optEcho = 1 // the router echoes; the client must not
	optSGA  = 3 // suppress go-ahead: character at a time
)

// telnetOffer opens every connection: WILL ECHO and WILL SGA put a telnet
// client in character mode without local echo, as a console needs. A
// client that is not telnet (nc) prints them as a few odd characters,
// which "\r" and erase-line (ESC [ K) wipe again.
var telnetOffer = []byte{tnIAC, tnWILL, optEcho, tnIAC, tnWILL, optSGA, '\r', 0x1b, '[', 'K'}

// action is what a client asked for.
type action int

const (
	actData  action = iota // bytes for the router
	actTake                // Ctrl-^ t: take the keyboard
	actBreak               // Ctrl-^ b, or telnet's BRK: send a BREAK
	actHelp                // Ctrl-^ ?: the keys and who has the keyboard
	actQuit                // Ctrl-^ .: disconnect
)

type event struct {
	act  action
	data []byte // for actData
}

// Where the telnet parser is between two bytes.
const (
	stData = iota
	stIAC  // after IAC
	stOpt  // after IAC WILL/WONT/DO/DONT: the option is next
	stSB   // inside IAC SB ... IAC SE
	stSBIAC
)

// optState is one side of a telnet option.
type optState uint8

const (
	optOff    optState = iota
	optOn              // agreed
	optWantOn          // we offered it and wait for the answer
)

// input parses one client's bytes. It is owned by that client's reader.
type input struct {
	state  int
	verb   byte // the WILL/WONT/DO/DONT waiting for its option
	esc    bool // Ctrl-^ seen: the next key is a command
	cr     bool // the last data byte was a CR
	telnet bool // the client has sent a telnet command

	us, him [256]optState // options on our side and the client's

	evs   []event
	reply []byte
}

func newInput() *input {
	in := &input{}
	in.us[optEcho], in.us[optSGA] = optWantOn, optWantOn // telnetOffer
	return in
}

// feed parses p and returns what the client asked for, in order, and the
// telnet answers to send back to it.
func (in *input) feed(p []byte) (evs []event, reply []byte) {
	for _, b := range p {
		switch in.state {
		case stData:
			if b == tnIAC {
				in.state = stIAC
			} else {
				in.dataByte(b)
			}
		case stIAC:
			in.state = stData
			in.command(b)
		case stOpt:
			in.state = stData
			in.option(in.verb, b)
		case stSB:
			if b == tnIAC {
				in.state = stSBIAC
			}
		case stSBIAC:
			switch b {
			case tnSE:
				in.state = stData
			case tnIAC: // an escaped 255 inside the subnegotiation
				in.state = stSB
			default: // malformed: take it as the end
				in.state = stData
			}
		}
	}
	evs, reply = in.evs, in.reply
	in.evs, in.reply = nil, nil
	return evs, reply
}

// command handles the byte after IAC.
func (in *input) command(b byte) {
	if b == tnIAC {
		in.dataByte(tnIAC)
		return
	}
	in.telnet = true
	switch b {
	case tnWILL, tnWONT, tnDO, tnDONT:
		in.verb, in.state = b, stOpt
	case tnSB:
		in.state = stSB
	case tnBRK:
		in.emit(actBreak)
	case tnIP: // telnet's line mode sends Ctrl-C as IP
		in.data(0x03)
	default: // NOP, DM, GA, AYT, AO, EC, EL: nothing to do on a console
	}
}

// option answers a negotiation, RFC 854's way: agree to ECHO and SGA on
// our side and SGA on the client's, refuse the rest, and never answer a
// request for the state an option is already in (no loops).
func (in *input) option(verb, opt byte) {
	ours := opt == optEcho || opt == optSGA
	switch verb {
	case tnDO:
		switch {
		case in.us[opt] == optWantOn:
			in.us[opt] = optOn // the answer to our offer
		case in.us[opt] == optOn:
		case ours:
			in.us[opt] = optOn
			in.answer(tnWILL, opt)
		default:
			in.answer(tnWONT, opt)
		}
	case tnDONT:
		switch in.us[opt] {
		case optWantOn: // our offer refused
			in.us[opt] = optOff
		case optOn:
			in.us[opt] = optOff
			in.answer(tnWONT, opt)
		}
	case tnWILL:
		switch {
		case in.him[opt] == optOn:
		case opt == optSGA:
			in.him[opt] = optOn
			in.answer(tnDO, opt)
		default:
			in.answer(tnDONT, opt)
		}
	case tnWONT:
		if in.him[opt] == optOn {
			in.him[opt] = optOff
			in.answer(tnDONT, opt)
		}
	}
}

func (in *input) answer(verb, opt byte) { in.reply = append(in.reply, tnIAC, verb, opt) }

// dataByte is one byte the client typed, after the telnet layer.
func (in *input) dataByte(b byte) {
	wasCR := in.cr
	in.cr = b == '\r'
	if wasCR && b == 0 && in.telnet {
		return // telnet's CR NUL is a bare CR
	}
	if in.esc {
		in.esc = false
		switch b {
		case escKey:
			in.data(escKey)
		case 't', 'T':
			in.emit(actTake)
		case 'b', 'B':
			in.emit(actBreak)
		case '?':
			in.emit(actHelp)
		case '.':
			in.emit(actQuit)
		default: // not ours: the router gets both, as typed
			in.data(escKey)
			in.data(b)
		}
		return
	}
	if b == escKey {
		in.esc = true
		return
	}
	in.data(b)
}

// data appends a byte for the router, to the last event if that is data.
func (in *input) data(b byte) {
	if n := len(in.evs); n > 0 && in.evs[n-1].act == actData {
		in.evs[n-1].data = append(in.evs[n-1].data, b)
		return
	}
	in.evs = append(in.evs, event{act: actData, data: []byte{b}})
}

func (in *input) emit(a action) { in.evs = append(in.evs, event{act: a}) }

// escapeIAC doubles every 255 in router output for a telnet client, which
// would otherwise read it as the start of a command.
func escapeIAC(p []byte) []byte {
	n := 0
	for _, b := range p {
		if b == tnIAC {
			n++
		}
	}
	if n == 0 {
		return p
	}
	out := make([]byte, 0, len(p)+n)
	for _, b := range p {
		out = append(out, b)
		if b == tnIAC {
			out = append(out, tnIAC)
		}
	}
	return out
}
