package modemsim

import (
	"errors"
	"strconv"
	"strings"
)

// atOp is what an AT command asks: run it, read its value, set it, or
// list what it accepts.
type atOp int

const (
	opExec atOp = iota // AT+CMD or a basic command (ATE0)
	opRead             // AT+CMD?
	opSet              // AT+CMD=args
	opTest             // AT+CMD=?
)

// atCmd is one command of an AT command line.
type atCmd struct {
	// Name is upper case: "+CMGF", "^CURC", or a basic command's letter(s)
	// ("E", "Z", "&F", "D").
	Name string
	Op   atOp
	// Args is the text after "=" (opSet) or a basic command's number or,
	// for D, the dial string; case is kept.
	Args string
}

// String is the command as a log shows it: "AT+CMGL=", "AT+CSQ", "ATZ",
// "AT+CPIN?"; arguments are left out (one may be a PIN).
func (c atCmd) String() string {
	return "AT" + c.Name + [...]string{opExec: "", opRead: "?", opSet: "=", opTest: "=?"}[c.Op]
}

var errSyntax = errors.New("syntax error")

// maxLine is the longest command line accepted; longer ones are an ERROR,
// as the modem's input buffer would overflow.
const maxLine = 1024

// parseLine splits an AT command line (without its CR) into commands.
// ok is false when the line is not an AT command at all (noise on the line,
// which a modem ignores). A line like "AT" alone yields no commands.
func parseLine(s string) (cmds []atCmd, ok bool, err error) {
	s = strings.TrimLeft(s, " \n")
	if len(s) < 2 || !strings.EqualFold(s[:2], "AT") {
		return nil, false, nil
	}
	if len(s) > maxLine {
		return nil, true, errSyntax
	}
	rest := s[2:]
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return cmds, true, nil
		}
		c := rest[0]
		switch {
		case c == '+' || c == '^':
			// Extended command: name up to '=', '?', ';' or the end.
			end := strings.IndexAny(rest, "=?;")
			if end < 0 {
				end = len(rest)
			}
			name := strings.ToUpper(strings.TrimSpace(rest[:end]))
			if len(name) < 2 || !isName(name[1:]) {
				return nil, true, errSyntax
			}
			rest = rest[end:]
			cmd := atCmd{Name: name}
			switch {
			case strings.HasPrefix(rest, "=?"):
				cmd.Op, rest = opTest, rest[2:]
			case strings.HasPrefix(rest, "?"):
				cmd.Op, rest = opRead, rest[1:]
			case strings.HasPrefix(rest, "="):
				args, r, err := cutArgs(rest[1:])
				if err != nil {
					return nil, true, err
				}
				cmd.Op, cmd.Args, rest = opSet, args, r
			}
			rest = strings.TrimLeft(rest, " ")
			if rest != "" {
				if rest[0] != ';' {
					return nil, true, errSyntax
				}
				rest = rest[1:]
			}
			cmds = append(cmds, cmd)
		case c == 'D' || c == 'd':
			// The dial string runs to the end of the line.
			cmds = append(cmds, atCmd{Name: "D", Op: opExec, Args: strings.TrimSpace(rest[1:])})
			return cmds, true, nil
		case c == '&' || isLetter(c):
			n := 1
			if c == '&' {
				if len(rest) < 2 || !isLetter(rest[1]) {
					return nil, true, errSyntax
				}
				n = 2
			}
			name := strings.ToUpper(rest[:n])
			rest = rest[n:]
			cmd := atCmd{Name: name}
			if strings.HasPrefix(rest, "?") {
				cmd.Op, rest = opRead, rest[1:]
			} else {
				i := 0
				for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
					i++
				}
				cmd.Args, rest = rest[:i], rest[i:]
				if name == "S" && strings.HasPrefix(rest, "=") {
					j := 1
					for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
						j++
					}
					cmd.Op, cmd.Args, rest = opSet, cmd.Args+rest[:j], rest[j:]
				}
			}
			rest = strings.TrimPrefix(rest, ";")
			cmds = append(cmds, cmd)
		default:
			return nil, true, errSyntax
		}
	}
}

// cutArgs takes the arguments of an extended command up to an unquoted ';'.
func cutArgs(s string) (args, rest string, err error) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return s[:i], s[i:], nil
			}
		}
	}
	if quoted {
		return "", "", errSyntax
	}
	return s, "", nil
}

func isLetter(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

// splitArgs splits a command's arguments at commas outside quotes. Quoted
// arguments are returned without their quotes; quoted reports which were.
func splitArgs(s string) (args []string, quoted []bool, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil, nil
	}
	var b strings.Builder
	inQuote, wasQuoted := false, false
	flush := func() {
		a := b.String()
		if !wasQuoted {
			a = strings.TrimSpace(a)
		}
		args = append(args, a)
		quoted = append(quoted, wasQuoted)
		b.Reset()
		wasQuoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			if inQuote {
				if strings.TrimSpace(b.String()) != "" {
					return nil, nil, errSyntax
				}
				b.Reset()
				wasQuoted = true
			}
		case c == ',' && !inQuote:
			flush()
		case !inQuote && wasQuoted && c != ' ':
			return nil, nil, errSyntax
		case !inQuote && wasQuoted:
		default:
			b.WriteByte(c)
		}
	}
	if inQuote {
		return nil, nil, errSyntax
	}
	flush()
	return args, quoted, nil
}

// intArg parses args[i] as an integer within [lo, hi]; an absent or empty
// argument gives def.
func intArg(args []string, i, lo, hi, def int) (int, error) {
	if i >= len(args) || args[i] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(args[i])
	if err != nil || n < lo || n > hi {
		return 0, errSyntax
	}
	return n, nil
}
