package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/state"
)

// The modem checks: the port opens and answers, the SIM is ready and
// registered (with its signal), storage has room, an SMS centre is set,
// and ModemManager keeps off the ports.

// fixModemFind is what to do about a port that is not the modem's.
const fixModemFind = "plug the modem in (switched to modem mode: usb-modeswitch) and find its AT port with 'oobd modem find'; put it in modem.port"

func (d *Doctor) modem(ctx context.Context, cfg *config.Config, r *Report) {
	ports := []string{cfg.Modem.Port}
	if !cfg.Modem.SinglePort() {
		ports = append(ports, cfg.Modem.DataPort)
	}
	held, scanned, scanWhy := d.holders(ports)

	daemon, running := d.daemonStatus(ctx, cfg)
	if running {
		r.pass("daemon", "running: the modem checks read its state; doctor leaves the port alone")
		d.modemFromDaemon(cfg, daemon, r)
	} else {
		r.pass("daemon", "not running: doctor opens the modem itself")
		d.modemDirect(ctx, cfg, held[cfg.Modem.Port], r)
	}

	// ModemManager grabs modem ports and sends its own AT commands.
	switch {
	case !scanned:
		r.skip("modemmanager", scanWhy)
	default:
		var found []string
		for _, p := range ports {
			for _, h := range held[p] {
				if h.Name == "ModemManager" {
					found = append(found, fmt.Sprintf("%s holds %s", h, p))
				}
			}
		}
		if len(found) > 0 {
			r.fail("modemmanager", strings.Join(found, "; "),
				"'systemctl disable --now ModemManager' (and 'systemctl mask ModemManager'), or keep it off this modem "+
					"with the udev rule 99-oobd-modemmanager.rules (adjust its IDs) and re-plug the modem")
		} else {
			r.pass("modemmanager", "holds none of "+strings.Join(ports, ", "))
		}
	}
}

// holders scans /proc for the processes holding ports (keyed by the
// config's names). scanned is false when the scan could not say, with why.
func (d *Doctor) holders(ports []string) (held map[string][]modem.Holder, scanned bool, why string) {
	if d.Holders == nil {
		return nil, false, "not checked: no /proc to scan on this system (ModemManager is a Linux program)"
	}
	all, complete, err := d.Holders.Holders()
	if err != nil {
		return nil, false, "not checked: " + err.Error()
	}
	held = map[string][]modem.Holder{}
	for _, p := range ports {
		real := p
		if r, err := filepath.EvalSymlinks(p); err == nil {
			real = r
		}
		held[p] = all[real]
	}
	if !complete {
		// Nothing found proves nothing when some processes were hidden.
		for _, p := range ports {
			if len(held[p]) > 0 {
				return held, true, ""
			}
		}
		return held, false, "not checked: some processes could not be looked at: run doctor as root"
	}
	return held, true, ""
}

// holderList names the holders, the first few of them.
func holderList(hs []modem.Holder) string {
	const most = 3
	var names []string
	for i, h := range hs {
		if i == most {
			names = append(names, fmt.Sprintf("and %d more", len(hs)-most))
			break
		}
		names = append(names, h.String())
	}
	return strings.Join(names, ", ")
}

// daemonStatus asks the daemon for its status; running is false when none
// answers.
func (d *Doctor) daemonStatus(ctx context.Context, cfg *config.Config) (control.Response, bool) {
	if d.Daemon == nil {
		return control.Response{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	resp, err := d.Daemon(ctx, cfg.StateDir)
	return resp, err == nil && resp.OK
}

// modemFromDaemon judges the modem from the daemon's health report (is it
// answering) and its state (SIM, network, storage as last polled).
func (d *Doctor) modemFromDaemon(cfg *config.Config, resp control.Response, r *Report) {
	var check *health.Check
	if resp.Health != nil {
		for i, c := range resp.Health.Checks {
			if c.Name == health.CheckModem {
				check = &resp.Health.Checks[i]
			}
		}
	}
	answering := check != nil && check.OK
	switch {
	case check == nil:
		r.skip("modem", "not known: the daemon's status has no modem check")
	case check.OK:
		r.pass("modem", cfg.Modem.Port+" (the daemon's): "+check.Detail)
	default:
		r.fail("modem", cfg.Modem.Port+" (the daemon's): "+check.Detail,
			"'oobd status' and the daemon's log ('journalctl -u oobd') say what it tried; "+fixModemFind)
	}
	// The daemon's own state when it sends it (fresher than the file,
	// which gets the signal only now and then), else its state file.
	var st state.State
	var err error
	if resp.State != nil {
		st = *resp.State
	} else {
		st, err = d.ReadState(cfg.StateDir)
	}
	if err != nil {
		for _, n := range []string{"sim", "registration", "storage"} {
			r.skip(n, "not known: the daemon's state file: "+err.Error())
		}
	} else {
		in := st.HealthInput()
		in.Session = st.Session.Active
		d.simChecks(cfg, in, r)
	}
	why := "not asked: the daemon has the port (stop it to check: 'systemctl stop oobd')"
	if !answering {
		why = "not asked: the daemon has the port, and its modem is not answering"
	}
	r.skip("sms centre", why)
}

// modemDirect opens the port and asks the modem, unless another program
// holds the port.
func (d *Doctor) modemDirect(ctx context.Context, cfg *config.Config, holders []modem.Holder, r *Report) {
	port := cfg.Modem.Port
	notAsked := func(why string) {
		for _, n := range []string{"sim", "registration", "storage", "sms centre"} {
			r.skip(n, why)
		}
	}
	if len(holders) > 0 {
		who := holderList(holders)
		switch holders[0].Name {
		case "ModemManager":
			r.skip("modem", "not opened: "+who+" holds "+port+" (see modemmanager below)")
		case "oobd":
			r.fail("modem", port+" is held by "+who+", which does not answer on "+control.SocketPath(cfg.StateDir),
				"another oobd (another config?) has the port: stop it, or run doctor with its config")
		default:
			r.fail("modem", port+" is held by "+who+": not opened",
				"stop that program (a hand-started pppd on a single-port modem holds the AT port)")
		}
		notAsked("not asked: the modem was not opened")
		return
	}
	m, err := d.OpenModem(ctx, cfg)
	if err != nil {
		fix := fixModemFind
		if !errors.Is(err, fs.ErrNotExist) {
			fix = "is " + port + " the modem's AT port? 'oobd modem find' tells the ports apart"
		}
		r.fail("modem", port+": "+err.Error(), fix)
		notAsked("not asked: the modem did not open")
		return
	}
	defer closeQuietly(m)
	in, err := m.Info(ctx)
	if err != nil {
		r.fail("modem", port+" opened but stopped answering: "+err.Error(),
			"is "+port+" the modem's AT port? 'oobd modem find' tells the ports apart; a hung modem needs a re-plug")
		notAsked("not asked: the modem is not answering")
		return
	}
	what := strings.TrimSpace(in.Manufacturer + " " + in.Model)
	if what == "" {
		what = "a modem"
	}
	if in.IMEI != "" {
		what += ", IMEI " + in.IMEI
	}
	r.pass("modem", port+" answers: "+what)
	hin := health.Input{
		SIM:     health.SIM{State: string(in.SIM), PINAttempts: in.PINAttempts, Reason: in.SIMReason},
		Network: health.Network{Registration: string(in.Registration), Operator: in.Operator, SignalDBm: in.SignalDBm, SignalKnown: in.SignalKnown},
		Storage: health.Storage{Used: in.StorageUsed, Total: in.StorageTotal},
	}
	if in.SIM == modem.SIMPIN {
		// Doctor never sends the PIN, so the modem's reason ("no PIN
		// file is configured") may not be true of the daemon: the fix
		// says what the daemon will do.
		hin.SIM.Reason = ""
	}
	d.simChecks(cfg, hin, r)
	d.serviceCentre(ctx, m, r)
}

// simChecks are the SIM, registration and storage checks, judged by the
// health checks' own functions so doctor says what /healthz would.
func (d *Doctor) simChecks(cfg *config.Config, in health.Input, r *Report) {
	one := func(name string) health.Check {
		c, _ := health.One(name, in, time.Time{})
		return c
	}
	if c := one(health.CheckSIM); c.OK {
		r.pass("sim", c.Detail)
	} else {
		r.fail("sim", c.Detail, simFix(cfg, in.SIM))
	}
	if c := one(health.CheckRegistration); c.OK {
		r.pass("registration", c.Detail)
	} else {
		fix := "check the antenna and the coverage where the box stands, and that the SIM has service and a data plan (try it in a phone)"
		if in.Network.Registration == string(modem.RegDenied) {
			fix = "the network refuses the SIM: it is not activated, or its plan does not allow this network; ask the carrier"
		}
		r.fail("registration", c.Detail, fix)
	}
	switch c := one(health.CheckStorage); {
	case !c.OK:
		r.fail("storage", c.Detail, "a full SIM takes no trigger: delete the texts with 'oobd sms delete --all' (oobd stopped)")
	case in.Storage.Total <= 0 && in.SIM.State != string(modem.SIMReady):
		r.skip("storage", "not read: the SIM is not ready")
	default:
		r.pass("storage", c.Detail)
	}
}

func simFix(cfg *config.Config, s health.SIM) string {
	switch s.State {
	case string(modem.SIMPIN):
		switch {
		case s.PINAttempts == 1:
			return "one PIN try left: enter the PIN by hand in a phone (oobd never risks the PUK), then remove the PIN"
		case cfg.Modem.PINFile != "":
			return "oobd run enters the PIN from modem.pin_file (" + cfg.Modem.PINFile + ") at start-up; doctor never sends one. " +
				"Start oobd and run doctor again, or better, remove the PIN with a phone"
		}
		return "remove the PIN with a phone (best), or put it in a file (mode 0600) named by modem.pin_file"
	case string(modem.SIMPUK):
		return "the SIM is blocked: unblock it with its PUK in a phone"
	case string(modem.SIMAbsent):
		return "insert the SIM (with the modem unplugged), contacts down"
	}
	return "try the SIM in a phone; 'oobd modem info' shows what the modem says"
}

// serviceCentre checks that the SIM has an SMS centre: without one no
// text leaves the box (the "link down" notice, a status reply).
func (d *Doctor) serviceCentre(ctx context.Context, m Modem, r *Report) {
	n, err := m.ServiceCentre(ctx)
	switch {
	case errors.Is(err, modem.ErrSIMNotReady):
		r.skip("sms centre", "not asked: the SIM is not ready")
	case err != nil:
		r.fail("sms centre", "AT+CSCA? failed: "+err.Error(), "'oobd modem info' shows whether the modem takes SMS commands on this port")
	case n == "":
		r.fail("sms centre", "none set on the SIM (AT+CSCA? is empty): no text can be sent",
			`set your carrier's SMS centre number on the AT port with oobd stopped (e.g. with picocom): AT+CSCA="+NUMBER",145 then AT+CSAS`)
	default:
		r.pass("sms centre", n)
	}
}
