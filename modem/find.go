package modem

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oobd/oobd/modem/serialport"
)

// How a USB modem's serial ports are told apart (what PortFinder does).
//
// A USB 3G/4G modem shows several serial ports, and which is which varies
// by maker and firmware:
//
//	Huawei E1752/E173/E3131 (serial mode): if00 modem (PPP data), if01
//	    diagnostic, if02 PC UI (AT, SMS and the ^RSSI/^MODE/^BOOT lines).
//	    Newer Huawei ports carry the role in the USB interface protocol
//	    (01 modem, 02 PC UI, 03 diagnostic).
//	Quectel EC21/EC25/EG25/BG96/EG91/EG95: if00 diagnostic (QCDM), if01 GPS
//	    (NMEA), if02 AT (primary, where URCs go), if03 modem (PPP data).
//	Sierra Wireless MC74xx/EM74xx/EM75xx: if00 diagnostic, if02 GPS, if03
//	    AT; HL78xx: if00 AT, if02 PPP data, if04 GPS.
//	ZTE: differs per product (ModemManager's rules list dozens of
//	    layouts); mostly a diagnostic port first, AT ports on if01..if04.
//
// (Sources: ModemManager's 77-mm-*-port-types.rules, vendors' manuals.)
// So the interface number in the /dev/serial/by-id name (…-if02-port0)
// is a hint when the maker is known, and what each port does when asked
// decides:
//   - No answer to a bare AT, twice: a diagnostic (QCDM/DM) port, a GPS
//     port, or not a modem. Bytes that are not AT (binary HDLC frames,
//     echo only, text without a result code): not an AT port. NMEA
//     sentences ($GPGGA,…): a GPS port.
//   - Answers AT: one of the modem's AT ports (the same IMEI groups them).
//     The AT port for oobd (modem.port) takes SMS commands (+CMGF=?) and
//     gets the unsolicited lines (^RSSI on Huawei, +CREG, +CMTI); the data
//     port for pppd (modem.data_port) is the modem's other AT port,
//     typically the one that refuses SMS commands (ZTE, some Huawei) or the
//     layout's PPP port. ATD (the CONNECT behaviour) is never tried: a dial
//     starts a data call.
//   - A port another process holds (found in /proc on Linux, a busy open on
//     FreeBSD) is never opened: ModemManager, pppd or a running oobd would
//     collide with the probe.

// Heard is what a port did when probed.
type Heard string

const (
	HeardAT      Heard = "at"      // answered AT
	HeardSilence Heard = "silence" // nothing at all
	HeardGarbage Heard = "garbage" // bytes, but no AT result code
	HeardNMEA    Heard = "nmea"    // GPS sentences
	HeardHeld    Heard = "held"    // another process has it: not opened
	HeardSkipped Heard = "skipped" // never probed (the router's console)
	HeardError   Heard = "error"   // would not open
)

// PortRole is what a port looks like, all ports considered.
type PortRole string

const (
	RoleAT         PortRole = "at"         // the AT port: modem.port
	RoleData       PortRole = "data"       // the data port: modem.data_port
	RoleOtherAT    PortRole = "other-at"   // another AT port of a modem
	RoleDiagnostic PortRole = "diagnostic" // silent or binary
	RoleGPS        PortRole = "gps"
	RoleNotModem   PortRole = "not-modem" // answers, but not AT
	RoleUnknown    PortRole = "unknown"   // not looked at
)

// PortReport is what PortFinder learnt about one serial port.
type PortReport struct {
	Path string `json:"path"` // the device, symlinks resolved
	// ByID is the stable /dev/serial/by-id/ name of the device, if any.
	ByID string `json:"by_id,omitempty"`
	// Interface is the USB interface number from the by-id name, -1 when
	// unknown.
	Interface    int         `json:"usb_interface"`
	Heard        Heard       `json:"heard"`
	Holders      []Holder    `json:"holders,omitempty"`
	Reason       string      `json:"reason,omitempty"` // why skipped, held or not opened
	Manufacturer string      `json:"manufacturer,omitempty"`
	Model        string      `json:"model,omitempty"`
	IMEI         string      `json:"imei,omitempty"`
	SIM          SIMState    `json:"sim,omitempty"`
	SMS          *bool       `json:"sms,omitempty"` // takes SMS commands; nil when not asked
	Unsolicited  []string    `json:"unsolicited,omitempty"`
	Role         PortRole    `json:"role"`
	Why          string      `json:"why"` // the evidence for Role
	obs          observation // what Role was decided from
}

// Name is the port's stable name when it has one, else its path.
func (r PortReport) Name() string {
	if r.ByID != "" {
		return r.ByID
	}
	return r.Path
}

// FindResult is every port probed, and the config lines they suggest.
type FindResult struct {
	Ports []PortReport `json:"ports"`
	// Port and DataPort are the suggested modem.port and modem.data_port
	// (by-id names where there are some). Port is "" when no port
	// answered AT; DataPort is "" for a modem with one AT port.
	Port     string `json:"port"`
	DataPort string `json:"data_port"`
	// Modems is how many modems (distinct IMEIs) answered.
	Modems int `json:"modems"`
	// HoldersUnknown is set when some processes could not be checked
	// for open ports (not root), or /proc could not be read.
	HoldersUnknown bool `json:"holders_unknown,omitempty"`
}

// HolderScanner tells which processes hold which devices open.
type HolderScanner interface {
	Holders() (held map[string][]Holder, complete bool, err error)
}

// PortFinder probes serial ports for a modem's AT and data ports.
type PortFinder struct {
	// Open opens a port for probing (the project's serial opener at the
	// modem's speed).
	Open func(path string) (io.ReadWriteCloser, error)
	// Holders finds the processes holding ports; nil where a busy open
	// says so instead (FreeBSD).
	Holders HolderScanner
	// Timeout bounds each command to a port. Default 1s.
	Timeout time.Duration
	// Skip maps devices never to open (paths with symlinks resolved) to
	// the reason.
	Skip map[string]string
}

// Find probes each candidate in turn and suggests the config lines.
func (f *PortFinder) Find(ctx context.Context, candidates []Candidate) FindResult {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	var res FindResult
	held := map[string][]Holder{}
	if f.Holders != nil {
		h, complete, err := f.Holders.Holders()
		held = h
		res.HoldersUnknown = err != nil || !complete
	}
	for _, c := range candidates {
		r := PortReport{Path: c.Path, ByID: c.ByID, Interface: usbInterface(c.ByID), Role: RoleUnknown}
		switch {
		case f.Skip[c.Path] != "":
			r.Heard, r.Reason = HeardSkipped, f.Skip[c.Path]
		case len(held[c.Path]) > 0:
			r.Heard, r.Holders = HeardHeld, held[c.Path]
			r.Reason = holderHint(held[c.Path])
		case ctx.Err() != nil:
			r.Heard, r.Reason = HeardError, ctx.Err().Error()
		default:
			f.probeOne(ctx, &r, timeout)
		}
		res.Ports = append(res.Ports, r)
	}
	suggest(&res)
	return res
}

func (f *PortFinder) probeOne(ctx context.Context, r *PortReport, timeout time.Duration) {
	port, err := f.Open(r.Path)
	if err != nil {
		if serialport.IsBusy(err) {
			r.Heard = HeardHeld
			r.Reason = "busy: another program has it open exclusively (ModemManager, ppp, cu or a running oobd?)"
			return
		}
		r.Heard, r.Reason = HeardError, err.Error()
		return
	}
	o := probe(ctx, port, timeout)
	r.obs = *o
	r.Manufacturer, r.Model, r.IMEI = o.manufacturer, o.model, o.imei
	r.Unsolicited = o.unsolicited
	switch {
	case o.answered:
		r.Heard = HeardAT
		r.SIM = o.sim
		if o.sms != smsUnknown {
			yes := o.sms == smsYes
			r.SMS = &yes
		}
	case o.nmea:
		r.Heard = HeardNMEA
	case o.bytes > 0:
		r.Heard = HeardGarbage
	default:
		r.Heard = HeardSilence
	}
}

// holderHint says what to do about the processes holding a port.
func holderHint(hs []Holder) string {
	for _, h := range hs {
		switch h.Name {
		case "ModemManager":
			return "ModemManager probes and holds modem ports: stop it for good with 'systemctl disable --now ModemManager', " +
				"or make it ignore the modem with the udev rule configs/udev/99-oobd-modemmanager.rules " +
				"(installed by the package as /usr/lib/udev/rules.d/99-oobd-modemmanager.rules; adjust its IDs) and re-plug the modem"
		case "pppd", "chat":
			return "a PPP link is using it (pppd): the data port while a session or a hand-started pppd runs"
		case "oobd":
			return "oobd itself has it: a running daemon holds its AT port ('systemctl stop oobd' to probe it)"
		}
	}
	return "another program has it open: stop it to probe this port"
}

var byIDInterface = regexp.MustCompile(`-if([0-9A-Fa-f]{2})(-port[0-9]+)?$`)

// usbInterface is the interface number in a by-id name, -1 if none.
func usbInterface(byID string) int {
	m := byIDInterface.FindStringSubmatch(byID)
	if m == nil {
		return -1
	}
	n, err := strconv.ParseUint(m[1], 16, 8)
	if err != nil {
		return -1
	}
	return int(n)
}

// layoutRole is what the maker's usual port layout says an AT-answering
// interface is for: RoleAT, RoleData, or "" when the layout does not say.
func layoutRole(manufacturer string, iface int) PortRole {
	m := strings.ToLower(manufacturer)
	table := map[string]map[int]PortRole{
		"huawei":  {0: RoleData, 2: RoleAT},
		"quectel": {2: RoleAT, 3: RoleData},
		"sierra":  {0: RoleAT, 2: RoleData, 3: RoleAT},
	}
	for maker, roles := range table {
		if strings.Contains(m, maker) {
			return roles[iface]
		}
	}
	return ""
}

// suggest decides every port's role and the config lines.
func suggest(res *FindResult) {
	// Group the AT ports by modem: the IMEI, else the by-id name's device
	// part, else the port alone.
	groups := map[string][]int{}
	var order []string
	for i := range res.Ports {
		p := &res.Ports[i]
		switch p.Heard {
		case HeardAT:
			k := p.IMEI
			if k == "" && p.ByID != "" {
				k = byIDInterface.ReplaceAllString(p.ByID, "")
			}
			if k == "" {
				k = p.Path
			}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		case HeardSilence:
			p.Role = RoleDiagnostic
			p.Why = "no answer to AT: a diagnostic (QCDM/DM) or GPS port, or not a modem"
		case HeardNMEA:
			p.Role, p.Why = RoleGPS, "sends GPS (NMEA) sentences: not an AT port"
		case HeardGarbage:
			switch {
			case p.obs.binary:
				p.Role, p.Why = RoleDiagnostic, "answers in binary, not AT: a diagnostic (QCDM) port or another device"
			case p.obs.echoed:
				p.Role, p.Why = RoleNotModem, "echoes what it is sent but never answers OK: a console or loopback, not a modem"
			default:
				p.Role, p.Why = RoleNotModem, "answers with text that is not AT: another device, not a modem"
			}
		case HeardHeld:
			p.Why = "in use by another program: not opened"
		case HeardSkipped:
			p.Why = "not probed"
		case HeardError:
			p.Why = "could not be opened"
		}
	}
	res.Modems = len(order)
	if len(order) == 0 {
		return
	}
	// The modem whose best AT port scores highest gets the suggestion.
	best, bestScore := "", -1<<31
	for _, k := range order {
		for _, i := range groups[k] {
			if s := atScore(res.Ports[i]); s > bestScore {
				best, bestScore = k, s
			}
		}
	}
	for _, k := range order {
		g := groups[k]
		at := g[0]
		for _, i := range g[1:] {
			if atScore(res.Ports[i]) > atScore(res.Ports[at]) {
				at = i
			}
		}
		data := -1
		for _, i := range g {
			if i != at && (data < 0 || dataScore(res.Ports[i]) > dataScore(res.Ports[data])) {
				data = i
			}
		}
		for _, i := range g {
			p := &res.Ports[i]
			switch i {
			case at:
				p.Role, p.Why = RoleAT, atEvidence(*p, len(g))
			case data:
				p.Role, p.Why = RoleData, dataEvidence(*p)
			default:
				p.Role, p.Why = RoleOtherAT, "another AT port of the same modem: not needed"
			}
		}
		if k == best {
			res.Port = res.Ports[at].Name()
			if data >= 0 {
				res.DataPort = res.Ports[data].Name()
			}
		}
	}
}

func atScore(p PortReport) int {
	s := 0
	switch layoutRole(p.Manufacturer, p.Interface) {
	case RoleAT:
		s += 4
	case RoleData:
		s -= 4
	}
	if len(p.Unsolicited) > 0 {
		s += 2
	}
	if p.SMS != nil {
		if *p.SMS {
			s++
		} else {
			s -= 3
		}
	}
	return s
}

func dataScore(p PortReport) int {
	s := 0
	if layoutRole(p.Manufacturer, p.Interface) == RoleData {
		s += 4
	}
	if p.SMS != nil && !*p.SMS {
		s += 2
	}
	if len(p.Unsolicited) > 0 {
		s--
	}
	return s
}

func atEvidence(p PortReport, ports int) string {
	var why []string
	switch {
	case p.SMS != nil && *p.SMS:
		why = append(why, "answers AT and SMS commands")
	case p.SMS != nil:
		why = append(why, "answers AT but refuses SMS commands (no better port)")
	default:
		why = append(why, "answers AT")
	}
	if len(p.Unsolicited) > 0 {
		why = append(why, "unsolicited lines arrive here ("+p.Unsolicited[0]+")")
	}
	if layoutRole(p.Manufacturer, p.Interface) == RoleAT {
		why = append(why, fmt.Sprintf("interface %02d is the AT port on %s modems", p.Interface, p.Manufacturer))
	}
	if ports == 1 {
		why = append(why, "the modem's only AT port: pppd borrows it during a session")
	}
	return "the AT port for oobd: " + strings.Join(why, "; ")
}

func dataEvidence(p PortReport) string {
	var why []string
	if p.SMS != nil && !*p.SMS {
		why = append(why, "answers AT but refuses SMS commands")
	} else {
		why = append(why, "the modem's other AT port")
	}
	if layoutRole(p.Manufacturer, p.Interface) == RoleData {
		why = append(why, fmt.Sprintf("interface %02d is the PPP port on %s modems", p.Interface, p.Manufacturer))
	}
	return "the data port for pppd: " + strings.Join(why, "; ")
}

// Candidate is a serial port to probe: the device and its stable name.
type Candidate struct {
	Path string // symlinks resolved
	ByID string // the /dev/serial/by-id/ link to it, if any
}

// SerialCandidates lists the serial ports to probe, each device once. With
// paths it resolves those; without, it looks in dev (normally "/dev") for
// the ports USB modems make: serial/by-id/* first, then ttyUSB* and
// ttyACM* (Linux), or cuaU* (FreeBSD, not the .init and .lock files).
func SerialCandidates(dev, goos string, paths []string) ([]Candidate, error) {
	byID := map[string]string{} // device → by-id link
	links, _ := filepath.Glob(filepath.Join(dev, "serial", "by-id", "*"))
	for _, l := range links {
		if real, err := filepath.EvalSymlinks(l); err == nil {
			if _, ok := byID[real]; !ok {
				byID[real] = l
			}
		}
	}
	explicit := len(paths) > 0
	if !explicit {
		paths = append(paths, links...)
		pats := []string{"ttyUSB*", "ttyACM*"}
		if goos == "freebsd" {
			pats = []string{"cuaU*"}
		}
		for _, pat := range pats {
			m, _ := filepath.Glob(filepath.Join(dev, pat))
			for _, p := range m {
				if !strings.HasSuffix(p, ".init") && !strings.HasSuffix(p, ".lock") {
					paths = append(paths, p)
				}
			}
		}
	}
	var out []Candidate
	seen := map[string]bool{}
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			if explicit {
				return nil, fmt.Errorf("modem: find: %s: %w", p, err)
			}
			continue // a dangling by-id link: the device went away
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		c := Candidate{Path: real, ByID: byID[real]}
		if strings.Contains(p, "/serial/by-id/") {
			c.ByID = p
		}
		out = append(out, c)
	}
	if !explicit {
		sort.Slice(out, func(i, j int) bool { return naturalLess(out[i].Path, out[j].Path) })
	}
	return out, nil
}

// naturalLess orders ttyUSB2 before ttyUSB10.
func naturalLess(a, b string) bool {
	ta, na := splitNumber(a)
	tb, nb := splitNumber(b)
	if ta != tb {
		return ta < tb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

var trailingNumber = regexp.MustCompile(`^(.*?)([0-9]+)$`)

func splitNumber(s string) (string, int) {
	m := trailingNumber.FindStringSubmatch(s)
	if m == nil {
		return s, -1
	}
	n, _ := strconv.Atoi(m[2])
	return m[1], n
}
