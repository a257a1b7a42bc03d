package modemsim

import (
	"fmt"
	"strconv"
	"strings"
)

// handler answers one AT command. It runs with s.mu held, adds information
// lines to r, and returns an atError for a +CME/+CMS ERROR, or errSyntax
// (or any other error) for a plain ERROR.
type handler struct {
	sim bool // needs an unlocked SIM (else +CME ERROR: 11 / 12)
	run func(s *Simulator, c atCmd, r *reply) error
}

// commandTable is every AT command the modem knows, by name: basic
// commands by letter ("E", "&F"), extended ones with their prefix
// ("+CMGL", "^CURC"). Anything else is ERROR.
func commandTable() map[string]handler {
	return map[string]handler{
		// V.250 basics
		"E":  {run: cmdEcho},
		"Z":  {run: cmdReset},
		"&F": {run: cmdReset},
		"I":  {run: cmdInfo},
		"V":  {run: cmdOnly("1", "")},
		"Q":  {run: cmdOnly("0", "")},
		"S":  {run: cmdSRegister},
		"H":  {run: cmdHangup},
		"D":  {run: cmdDial},
		// identity
		"+CGMI": {run: cmdValue(func(s *Simulator) string { return s.identity.Manufacturer })},
		"+GMI":  {run: cmdValue(func(s *Simulator) string { return s.identity.Manufacturer })},
		"+CGMM": {run: cmdValue(func(s *Simulator) string { return s.identity.Model })},
		"+GMM":  {run: cmdValue(func(s *Simulator) string { return s.identity.Model })},
		"+CGMR": {run: cmdValue(func(s *Simulator) string { return s.identity.Revision })},
		"+GMR":  {run: cmdValue(func(s *Simulator) string { return s.identity.Revision })},
		"+CGSN": {run: cmdValue(func(s *Simulator) string { return s.identity.IMEI })},
		"+GSN":  {run: cmdValue(func(s *Simulator) string { return s.identity.IMEI })},
		"+CIMI": {sim: true, run: cmdValue(func(s *Simulator) string { return s.identity.IMSI })},
		"+CCID": {sim: true, run: cmdValue(func(s *Simulator) string { return "+CCID: " + s.identity.ICCID })},
		"+CNUM": {sim: true, run: cmdCNUM},
		"^ICCID": {sim: true, run: func(s *Simulator, c atCmd, r *reply) error {
			if c.Op != opRead && c.Op != opExec {
				return errSyntax
			}
			r.add("^ICCID: " + s.identity.ICCID)
			return nil
		}},
		"+GCAP": {run: cmdValue(func(*Simulator) string { return "+GCAP: +CGSM,+DS,+ES" })},
		// settings
		"+CMEE":    {run: cmdSetting("+CMEE", 0, 2, func(s *Simulator) *int { return &s.cmee })},
		"+CMGF":    {run: cmdSetting("+CMGF", 0, 1, func(s *Simulator) *int { return &s.cmgf })},
		"^CURC":    {run: cmdSetting("^CURC", 0, 1, func(s *Simulator) *int { return &s.curc })},
		"+CSMS":    {run: cmdCSMS},
		"+CFUN":    {run: cmdCFUN},
		"+CGDCONT": {run: cmdCGDCONT},
		// SIM
		"+CPIN":  {run: cmdCPIN},
		"^CPIN":  {run: cmdHuaweiCPIN},
		"+CPINR": {run: cmdCPINR},
		// network
		"+CSQ":     {run: cmdCSQ},
		"+CREG":    {run: cmdReg("+CREG", func(s *Simulator) *int { return &s.cregN })},
		"+CGREG":   {run: cmdReg("+CGREG", func(s *Simulator) *int { return &s.cgregN })},
		"+COPS":    {run: cmdCOPS},
		"^SYSINFO": {run: cmdSysinfo},
		// SMS (27.005)
		"+CSCA": {sim: true, run: cmdCSCA},
		"+CPMS": {sim: true, run: cmdCPMS},
		"+CNMI": {run: cmdCNMI},
		"+CMGL": {sim: true, run: cmdCMGL},
		"+CMGR": {sim: true, run: cmdCMGR},
		"+CMGD": {sim: true, run: cmdCMGD},
		"+CMGS": {sim: true, run: cmdCMGS},
	}
}

// cmdOnly accepts a basic command only with the given arguments.
func cmdOnly(allowed ...string) func(*Simulator, atCmd, *reply) error {
	return func(_ *Simulator, c atCmd, _ *reply) error {
		for _, a := range allowed {
			if c.Op == opExec && c.Args == a {
				return nil
			}
		}
		return errSyntax
	}
}

// cmdValue answers an action command with one line; "=?" is just OK.
func cmdValue(v func(*Simulator) string) func(*Simulator, atCmd, *reply) error {
	return func(s *Simulator, c atCmd, r *reply) error {
		switch c.Op {
		case opExec:
			r.add(v(s))
			return nil
		case opTest:
			return nil
		}
		return errSyntax
	}
}

// cmdSetting is a one-number setting: =n, ?, =?.
func cmdSetting(name string, lo, hi int, field func(*Simulator) *int) func(*Simulator, atCmd, *reply) error {
	return func(s *Simulator, c atCmd, r *reply) error {
		switch c.Op {
		case opSet:
			args, _, err := splitArgs(c.Args)
			if err != nil || len(args) != 1 {
				return errSyntax
			}
			n, err := intArg(args, 0, lo, hi, 0)
			if err != nil {
				return cmeError(50)
			}
			*field(s) = n
		case opRead:
			r.add(fmt.Sprintf("%s: %d", name, *field(s)))
		case opTest:
			r.add(fmt.Sprintf("%s: (%d-%d)", name, lo, hi))
		default:
			return errSyntax
		}
		return nil
	}
}

func cmdEcho(s *Simulator, c atCmd, _ *reply) error {
	switch c.Args {
	case "", "0":
		s.echo = false
	case "1":
		s.echo = true
	default:
		return errSyntax
	}
	return nil
}

// cmdReset is ATZ / AT&F: back to the power-on profile (echo on, +CMEE=0,
// PDU mode, no indications). The SIM stays unlocked.
func cmdReset(s *Simulator, c atCmd, _ *reply) error {
	if c.Args != "" && c.Args != "0" {
		return errSyntax
	}
	s.settings = powerOn()
	return nil
}

func cmdInfo(s *Simulator, c atCmd, r *reply) error {
	if c.Args != "" && c.Args != "0" {
		return errSyntax
	}
	r.add("Manufacturer: "+s.identity.Manufacturer, "Model: "+s.identity.Model,
		"Revision: "+s.identity.Revision, "IMEI: "+s.identity.IMEI, "+GCAP: +CGSM,+DS,+ES")
	return nil
}

// cmdSRegister accepts S-register writes and reads them back as 0.
func cmdSRegister(_ *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opSet:
		return nil
	case opRead:
		r.add("000")
		return nil
	}
	return errSyntax
}

func cmdHangup(s *Simulator, c atCmd, _ *reply) error {
	if c.Args != "" && c.Args != "0" {
		return errSyntax
	}
	s.mode = modeCommand
	return nil
}

// isDataDial reports whether a dial string is a packet-data call: *99#
// or *99***<cid>#.
func isDataDial(s string) bool {
	if s == "*99#" {
		return true
	}
	cid, ok := strings.CutPrefix(s, "*99***")
	return ok && strings.HasSuffix(cid, "#") && isDigits(strings.TrimSuffix(cid, "#"))
}

// cmdDial answers a packet-data call (*99#) with CONNECT and puts the line
// in data mode until "+++"; PPP itself is not simulated. Anything else
// (voice) gets NO CARRIER.
func cmdDial(s *Simulator, c atCmd, r *reply) error {
	if !isDataDial(c.Args) {
		r.final = "NO CARRIER"
		return nil
	}
	if err := s.simReadyLocked(); err != nil {
		return err
	}
	if st := s.regLocked(); st != 1 && st != 5 {
		r.final = "NO CARRIER"
		return nil
	}
	r.final = "CONNECT"
	s.mode = modeData
	s.plusCount = 0
	return nil
}

func cmdCSMS(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) != 1 {
			return errSyntax
		}
		n, err := intArg(args, 0, 0, 1, 0)
		if err != nil {
			return cmsError(303)
		}
		s.csms = n
		r.add("+CSMS: 1,1,1")
	case opRead:
		r.add(fmt.Sprintf("+CSMS: %d,1,1,1", s.csms))
	case opTest:
		r.add("+CSMS: (0-1)")
	default:
		return errSyntax
	}
	return nil
}

func cmdCFUN(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) < 1 || len(args) > 2 {
			return errSyntax
		}
		fun, err1 := intArg(args, 0, 0, 7, 1)
		rst, err2 := intArg(args, 1, 0, 1, 0)
		if err1 != nil || err2 != nil || fun == 2 || fun == 3 {
			return cmeError(50)
		}
		if rst == 1 {
			if fun != 1 {
				return cmeError(50)
			}
			r.after = s.Reset
			return nil
		}
		s.cfun = fun
	case opRead:
		r.add(fmt.Sprintf("+CFUN: %d", s.cfun))
	case opTest:
		r.add("+CFUN: (0,1,4-7),(0-1)")
	default:
		return errSyntax
	}
	return nil
}

func cmdCGDCONT(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) < 1 {
			return errSyntax
		}
		cid, err := intArg(args, 0, 1, 16, 0)
		if err != nil {
			return cmeError(50)
		}
		if len(args) == 1 {
			delete(s.cgdcont, cid)
			return nil
		}
		if !strings.EqualFold(args[1], "IP") {
			return cmeError(50)
		}
		apn := ""
		if len(args) > 2 {
			apn = args[2]
		}
		s.cgdcont[cid] = apn
	case opRead:
		for cid := 1; cid <= 16; cid++ {
			if apn, ok := s.cgdcont[cid]; ok {
				r.add(fmt.Sprintf(`+CGDCONT: %d,"IP","%s","0.0.0.0",0,0`, cid, apn))
			}
		}
	case opTest:
		r.add(`+CGDCONT: (1-16),"IP",,,(0-2),(0-3)`)
	default:
		return errSyntax
	}
	return nil
}

func cmdCPIN(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opRead:
		r.add("+CPIN: " + s.simState.String())
		return nil
	case opTest:
		return nil
	case opSet:
	default:
		return errSyntax
	}
	args, _, err := splitArgs(c.Args)
	if err != nil || len(args) < 1 || len(args) > 2 {
		return errSyntax
	}
	switch s.simState {
	case simPIN:
		if len(args) != 1 {
			return cmeError(50)
		}
		if !secretEqual(args[0], s.pin) {
			s.pinLeft--
			if s.pinLeft <= 0 {
				s.pinLeft = 0
				s.simState = simPUK
			}
			return cmeError(16)
		}
		s.simState, s.pinLeft = simReady, 3
	case simPUK:
		if len(args) != 2 || !validPIN(args[1]) {
			return cmeError(50)
		}
		if s.pukLeft <= 0 {
			return cmeError(13)
		}
		if !secretEqual(args[0], s.cfg.puk) {
			s.pukLeft--
			return cmeError(16)
		}
		s.pin, s.simState, s.pinLeft, s.pukLeft = args[1], simReady, 3, 10
	default:
		return cmeError(3)
	}
	return nil
}

// cmdHuaweiCPIN is ^CPIN?: <code>,[<times>],<puk_times>,<pin_times>,
// <puk2_times>,<pin2_times>, <times> being the tries left for <code>.
func cmdHuaweiCPIN(s *Simulator, c atCmd, r *reply) error {
	if c.Op != opRead {
		return errSyntax
	}
	times := ""
	switch s.simState {
	case simPIN:
		times = strconv.Itoa(s.pinLeft)
	case simPUK:
		times = strconv.Itoa(s.pukLeft)
	}
	r.add(fmt.Sprintf("^CPIN: %s,%s,%d,%d,10,3", s.simState, times, s.pukLeft, s.pinLeft))
	return nil
}

// cmdCPINR is 27.007's +CPINR[=<sel_code>]: tries left per code.
func cmdCPINR(s *Simulator, c atCmd, r *reply) error {
	sel := "*"
	switch c.Op {
	case opExec:
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) != 1 {
			return errSyntax
		}
		sel = strings.ToUpper(args[0])
	case opTest:
		return nil
	default:
		return errSyntax
	}
	for _, e := range []struct {
		code       string
		left, full int
	}{{"SIM PIN", s.pinLeft, 3}, {"SIM PUK", s.pukLeft, 10}, {"SIM PIN2", 3, 3}, {"SIM PUK2", 10, 10}} {
		if sel == e.code || sel == "*" || (strings.HasSuffix(sel, "*") && strings.HasPrefix(e.code, sel[:len(sel)-1])) {
			r.add(fmt.Sprintf("+CPINR: %s,%d,%d", e.code, e.left, e.full))
		}
	}
	return nil
}

func cmdCSQ(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opExec:
		r.add(fmt.Sprintf("+CSQ: %d,99", s.csq))
	case opTest:
		r.add("+CSQ: (0-31,99),(0-7,99)")
	default:
		return errSyntax
	}
	return nil
}

// regLocked is the registration state the network sees: none without an
// unlocked SIM or with the radio off.
func (s *Simulator) regLocked() int {
	if s.simState != simReady || s.cfun != 1 {
		return 0
	}
	return s.reg
}

func cmdReg(name string, field func(*Simulator) *int) func(*Simulator, atCmd, *reply) error {
	return func(s *Simulator, c atCmd, r *reply) error {
		switch c.Op {
		case opSet:
			args, _, err := splitArgs(c.Args)
			if err != nil || len(args) != 1 {
				return errSyntax
			}
			n, err := intArg(args, 0, 0, 2, 0)
			if err != nil {
				return cmeError(50)
			}
			if n > 0 && s.cfg.noURC[name] {
				return cmeError(4) // operation not supported
			}
			*field(s) = n
		case opRead:
			n := *field(s)
			line := fmt.Sprintf("%s: %d,%d", name, n, s.regLocked())
			if n == 2 && (s.regLocked() == 1 || s.regLocked() == 5) {
				line += `,"2A1C","01B7E2F4"`
			}
			r.add(line)
		case opTest:
			r.add(name + ": (0-2)")
		default:
			return errSyntax
		}
		return nil
	}
}

func cmdCOPS(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opRead:
		st := s.regLocked()
		if st != 1 && st != 5 {
			r.add("+COPS: 0")
			return nil
		}
		name := s.operator
		if s.copsFmt == 2 {
			name = s.plmn
		}
		r.add(fmt.Sprintf(`+COPS: 0,%d,"%s",2`, s.copsFmt, name))
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) < 1 {
			return errSyntax
		}
		mode, err1 := intArg(args, 0, 0, 4, 0)
		format, err2 := intArg(args, 1, 0, 2, s.copsFmt)
		if err1 != nil || err2 != nil {
			return cmeError(50)
		}
		if len(args) > 1 {
			s.copsFmt = format
		}
		_ = mode // automatic and manual selection both find the one network
	case opTest:
		r.add(fmt.Sprintf(`+COPS: (2,"%s","%s","%s",2),,(0,1,2,3,4),(0,1,2)`, s.operator, s.operator, s.plmn))
	default:
		return errSyntax
	}
	return nil
}

// cmdSysinfo is Huawei's ^SYSINFO: srv_status, srv_domain, roam,
// sys_mode (5 WCDMA), sim_state.
func cmdSysinfo(s *Simulator, c atCmd, r *reply) error {
	if c.Op != opExec {
		return errSyntax
	}
	srv, roam := 0, 0
	switch s.regLocked() {
	case 1:
		srv = 2
	case 5:
		srv, roam = 2, 1
	}
	sim := 1
	if s.simState != simReady {
		sim = 255
	}
	r.add(fmt.Sprintf("^SYSINFO:%d,3,%d,5,%d,,4", srv, roam, sim))
	return nil
}

func cmdCSCA(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opRead:
		toa := 129
		if strings.HasPrefix(s.smsc, "+") {
			toa = 145
		}
		r.add(fmt.Sprintf(`+CSCA: "%s",%d`, s.smsc, toa))
	case opSet:
		args, quoted, err := splitArgs(c.Args)
		if err != nil || len(args) < 1 || !quoted[0] {
			return errSyntax
		}
		n := args[0]
		if !isDigits(strings.TrimPrefix(n, "+")) {
			return cmsError(304)
		}
		s.smsc = n
	case opTest:
	default:
		return errSyntax
	}
	return nil
}

func (s *Simulator) usedLocked() int {
	n := 0
	for _, sl := range s.slots {
		if sl.used {
			n++
		}
	}
	return n
}

func cmdCPMS(s *Simulator, c atCmd, r *reply) error {
	u, t := s.usedLocked(), len(s.slots)
	switch c.Op {
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) < 1 || len(args) > 3 {
			return errSyntax
		}
		for _, a := range args {
			if !strings.EqualFold(a, "SM") {
				return cmsError(302)
			}
		}
		r.add(fmt.Sprintf("+CPMS: %d,%d,%d,%d,%d,%d", u, t, u, t, u, t))
	case opRead:
		r.add(fmt.Sprintf(`+CPMS: "SM",%d,%d,"SM",%d,%d,"SM",%d,%d`, u, t, u, t, u, t))
	case opTest:
		r.add(`+CPMS: ("SM"),("SM"),("SM")`)
	default:
		return errSyntax
	}
	return nil
}

// cmdCNMI: mode 0-3 (any non-zero emits), mt 0 (nothing) or 1 ("+CMTI"
// for a stored message). Direct delivery (mt 2, 3: +CMT) is not simulated.
func cmdCNMI(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opSet:
		args, _, err := splitArgs(c.Args)
		if err != nil || len(args) < 1 || len(args) > 5 {
			return errSyntax
		}
		var v [5]int
		for i, hi := range []int{3, 3, 3, 2, 1} {
			if v[i], err = intArg(args, i, 0, hi, 0); err != nil {
				return cmsError(303)
			}
		}
		if v[1] > 1 {
			return cmsError(303)
		}
		s.cnmiMode, s.cnmiMT = v[0], v[1]
	case opRead:
		r.add(fmt.Sprintf("+CNMI: %d,%d,0,0,0", s.cnmiMode, s.cnmiMT))
	case opTest:
		r.add("+CNMI: (0-3),(0-1),(0-3),(0-2),(0-1)")
	default:
		return errSyntax
	}
	return nil
}

// textStat is a 27.005 message status as text mode names it.
func textStat(stat int) string {
	switch stat {
	case 0:
		return "REC UNREAD"
	case 1:
		return "REC READ"
	case 2:
		return "STO UNSENT"
	case 3:
		return "STO SENT"
	}
	return "ALL"
}

func cmdCMGL(s *Simulator, c atCmd, r *reply) error {
	want := 0
	switch c.Op {
	case opExec:
	case opSet:
		args, quoted, err := splitArgs(c.Args)
		if err != nil || len(args) != 1 {
			return errSyntax
		}
		if s.cmgf == 1 {
			want = -1
			for i := 0; i <= 4; i++ {
				if quoted[0] && strings.EqualFold(args[0], textStat(i)) {
					want = i
				}
			}
			if want < 0 {
				return cmsError(305)
			}
		} else {
			if quoted[0] {
				return cmsError(304)
			}
			if want, err = intArg(args, 0, 0, 4, 0); err != nil {
				return cmsError(304)
			}
		}
	case opTest:
		if s.cmgf == 1 {
			r.add(`+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")`)
		} else {
			r.add("+CMGL: (0-4)")
		}
		return nil
	default:
		return errSyntax
	}
	for i := range s.slots {
		sl := &s.slots[i]
		if !sl.used || (want != 4 && sl.stat != want) {
			continue
		}
		r.add(s.showLocked("+CMGL", i, sl)...)
		if sl.stat == 0 {
			sl.stat = 1
		}
	}
	return nil
}

// showLocked is a stored message as +CMGL (with index) or +CMGR shows it.
func (s *Simulator) showLocked(cmd string, i int, sl *slot) []string {
	head := cmd + ": "
	if cmd == "+CMGL" {
		head += strconv.Itoa(i) + ","
	}
	if s.cmgf == 0 {
		return []string{fmt.Sprintf("%s%d,,%d", head, sl.stat, len(sl.pdu)), pduHex(s.smsc, sl.pdu)}
	}
	v, err := deliverText(sl.pdu)
	if err != nil {
		// Text mode cannot show it; real modems print something odd.
		return []string{fmt.Sprintf(`%s"%s","",,""`, head, textStat(sl.stat)), ""}
	}
	return []string{fmt.Sprintf(`%s"%s","%s",,"%s"`, head, textStat(sl.stat), v.OA, v.SCTS), v.Text}
}

// cmdCMGR reads one message (an empty slot answers just OK).
func cmdCMGR(s *Simulator, c atCmd, r *reply) error {
	if c.Op == opTest {
		return nil
	}
	i, err := s.indexArgLocked(c)
	if err != nil {
		return err
	}
	sl := &s.slots[i]
	if !sl.used {
		return nil
	}
	r.add(s.showLocked("+CMGR", i, sl)...)
	if sl.stat == 0 {
		sl.stat = 1
	}
	return nil
}

func (s *Simulator) indexArgLocked(c atCmd) (int, error) {
	if c.Op != opSet {
		return 0, errSyntax
	}
	args, _, err := splitArgs(c.Args)
	if err != nil || len(args) != 1 {
		return 0, errSyntax
	}
	i, err := intArg(args, 0, 0, len(s.slots)-1, -1)
	if err != nil || i < 0 {
		return 0, cmsError(321)
	}
	return i, nil
}

// cmdCMGD deletes one slot (flag 0; an empty one is fine) or, by flag,
// all read (1), read and sent (2), all but unread (3), or all (4).
func cmdCMGD(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opTest:
		var used []string
		for i, sl := range s.slots {
			if sl.used {
				used = append(used, strconv.Itoa(i))
			}
		}
		r.add(fmt.Sprintf("+CMGD: (%s),(0-4)", strings.Join(used, ",")))
		return nil
	case opSet:
	default:
		return errSyntax
	}
	args, _, err := splitArgs(c.Args)
	if err != nil || len(args) < 1 || len(args) > 2 {
		return errSyntax
	}
	flag, err := intArg(args, 1, 0, 4, 0)
	if err != nil {
		return cmsError(321)
	}
	// A freed slot takes what the network held for a full SIM; its +CMTI
	// follows the reply.
	defer func() { s.pending = append(s.pending, s.deliverQueuedLocked()...) }()
	if flag == 0 {
		i, err := intArg(args, 0, 0, len(s.slots)-1, -1)
		if err != nil || i < 0 {
			return cmsError(321)
		}
		s.slots[i] = slot{}
		return nil
	}
	for i := range s.slots {
		st := s.slots[i].stat
		if !s.slots[i].used {
			continue
		}
		if flag == 4 || st == 1 || (flag >= 2 && st == 3) || (flag == 3 && st == 2) {
			s.slots[i] = slot{}
		}
	}
	return nil
}

// cmdCMGS starts a send: PDU mode takes the TPDU length, text mode the
// destination; the body follows the "> " prompt.
func cmdCMGS(s *Simulator, c atCmd, r *reply) error {
	if c.Op == opTest {
		return nil
	}
	if c.Op != opSet {
		return errSyntax
	}
	args, quoted, err := splitArgs(c.Args)
	if err != nil || len(args) < 1 || len(args) > 2 {
		return errSyntax
	}
	if st := s.regLocked(); st != 1 && st != 5 {
		return cmsError(331)
	}
	if s.cmgf == 1 {
		if !quoted[0] || args[0] == "" {
			return cmsError(305)
		}
		s.prompt = promptState{text: true, da: args[0]}
	} else {
		if quoted[0] {
			return cmsError(304)
		}
		n, err := intArg(args, 0, 7, 164, 0)
		if err != nil {
			return cmsError(304)
		}
		s.prompt = promptState{n: n}
	}
	s.mode = modePrompt
	s.buf = s.buf[:0]
	r.final, r.prompt = "> ", true
	return nil
}

// answerSend finishes a +CMGS with the body the client typed.
func (s *Simulator) answerSend(body string) {
	s.answerWith(func() reply {
		p := s.prompt
		var part submitPart
		var err error
		if p.text {
			part, err = encodeTextSubmit(p.da, body)
		} else {
			part, err = decodeSubmit(strings.TrimSpace(body), p.n)
		}
		if err != nil {
			s.log.Info("modemsim: +CMGS rejected", "err", err)
			code := 304
			if p.text {
				code = 305
			}
			return reply{final: s.errorLineLocked(cmsError(code))}
		}
		s.mr = (s.mr + 1) % 256
		r := reply{final: "OK"}
		r.add(fmt.Sprintf("+CMGS: %d", s.mr))
		m, err := s.asm.add(part)
		if err != nil {
			s.log.Info("modemsim: sent part not reassembled", "err", err)
		}
		if m != nil {
			s.addSentLocked(*m)
			s.log.Info("modemsim: sent", "to", m.To, "parts", m.Parts)
			if own := s.identity.Number; own != "" && strings.TrimPrefix(m.To, "+") == strings.TrimPrefix(own, "+") {
				// A text to the SIM's own number comes back.
				text := m.Text
				r.after = func() { s.Deliver(own, text) }
			}
		}
		return r
	})
}

// cmdCNUM is 27.007's +CNUM: the subscriber number, when the SIM stores
// it: +CNUM: "",<number>,<type>.
func cmdCNUM(s *Simulator, c atCmd, r *reply) error {
	switch c.Op {
	case opExec:
		if n := s.identity.Number; n != "" && !s.cfg.noNumber {
			typ := 129
			if strings.HasPrefix(n, "+") {
				typ = 145
			}
			r.add(fmt.Sprintf(`+CNUM: "",%q,%d`, n, typ))
		}
		return nil
	case opTest:
		return nil
	}
	return errSyntax
}
