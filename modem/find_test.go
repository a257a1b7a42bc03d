package modem

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/modem/serialport"
)

func TestSerialCandidates(t *testing.T) {
	dev := t.TempDir()
	for _, n := range []string{"ttyUSB0", "ttyUSB1", "ttyUSB2", "ttyUSB10", "ttyACM0", "ttyS0",
		"cuaU0.0", "cuaU0.0.init", "cuaU0.0.lock", "cuaU0.1"} {
		os.WriteFile(filepath.Join(dev, n), nil, 0o600)
	}
	byID := filepath.Join(dev, "serial", "by-id")
	os.MkdirAll(byID, 0o755)
	hw := "usb-HUAWEI_Technology_HUAWEI_Mobile-if"
	os.Symlink("../../ttyUSB0", filepath.Join(byID, hw+"00-port0"))
	os.Symlink("../../ttyUSB2", filepath.Join(byID, hw+"02-port0"))
	os.Symlink("../../ttyUSB9", filepath.Join(byID, "usb-gone-if00-port0")) // dangling: skipped

	got, err := SerialCandidates(dev, "linux", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Candidate{
		{filepath.Join(dev, "ttyACM0"), ""},
		{filepath.Join(dev, "ttyUSB0"), filepath.Join(byID, hw+"00-port0")},
		{filepath.Join(dev, "ttyUSB1"), ""},
		{filepath.Join(dev, "ttyUSB2"), filepath.Join(byID, hw+"02-port0")},
		{filepath.Join(dev, "ttyUSB10"), ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("linux:\n got %v\nwant %v", got, want)
	}

	got, _ = SerialCandidates(dev, "freebsd", nil)
	if len(got) != 4 || got[0].Path != filepath.Join(dev, "cuaU0.0") || got[1].Path != filepath.Join(dev, "cuaU0.1") {
		t.Errorf("freebsd: %v; want the two by-id devices, cuaU0.0 and cuaU0.1 (no .init, .lock)", got)
	}

	// Given paths keep their order; a device named twice is probed once,
	// under its by-id name.
	got, err = SerialCandidates(dev, "linux", []string{filepath.Join(dev, "ttyUSB2"), filepath.Join(dev, "ttyS0"), filepath.Join(byID, hw+"02-port0")})
	if err != nil || len(got) != 2 || got[0].ByID != filepath.Join(byID, hw+"02-port0") || got[1].Path != filepath.Join(dev, "ttyS0") {
		t.Errorf("explicit: %v, %v", got, err)
	}
	if _, err := SerialCandidates(dev, "linux", []string{filepath.Join(dev, "nope")}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a missing explicit path: %v", err)
	}
}

func TestUSBInterface(t *testing.T) {
	for in, want := range map[string]int{
		"/dev/serial/by-id/usb-HUAWEI_Technology_HUAWEI_Mobile-if02-port0": 2,
		"/dev/serial/by-id/usb-Quectel_EG25-G-if03-port0":                  3,
		"/dev/serial/by-id/usb-Sierra_Wireless_MC7455_Qualcomm-if0a-port0": 10,
		"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0":   0,
		"/dev/serial/by-id/usb-Silicon_Labs_CP2102_USB_to_UART_0001-if00":  0,
		"/dev/serial/by-id/usb-1a86_USB2.0-Serial-port0":                   -1,
		"": -1,
		"/dev/serial/by-id/usb-ZTE_Incorporated_ZTE_WCDMA_Technologies_MSM-ifx": -1,
	} {
		if got := usbInterface(in); got != want {
			t.Errorf("usbInterface(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	yes, no := true, false
	hw := func(i int) string { return "/dev/serial/by-id/usb-HUAWEI_Mobile-if0" + string(rune('0'+i)) + "-port0" }
	at := func(path, byID, maker string, sms *bool, urc ...string) PortReport {
		return PortReport{Path: path, ByID: byID, Interface: usbInterface(byID), Heard: HeardAT,
			Manufacturer: maker, IMEI: "353142030123456", SMS: sms, Unsolicited: urc}
	}
	silent := PortReport{Path: "/dev/ttyUSB1", Interface: -1, Heard: HeardSilence}
	tests := []struct {
		name       string
		ports      []PortReport
		port, data string
		roles      []PortRole
		modems     int
		whyFirstAT string
	}{
		{
			name: "Huawei E1752: PC UI by its unsolicited lines and layout, modem port for pppd",
			ports: []PortReport{at("/dev/ttyUSB0", hw(0), "huawei", &yes), silent,
				at("/dev/ttyUSB2", hw(2), "huawei", &yes, "^RSSI:17")},
			port: hw(2), data: hw(0), roles: []PortRole{RoleData, RoleDiagnostic, RoleAT}, modems: 1,
		},
		{
			name: "Huawei without by-id names: the unsolicited lines decide",
			ports: []PortReport{at("/dev/ttyUSB0", "", "huawei", &yes), silent,
				at("/dev/ttyUSB2", "", "huawei", &yes, "^MODE:5,4")},
			port: "/dev/ttyUSB2", data: "/dev/ttyUSB0", roles: []PortRole{RoleData, RoleDiagnostic, RoleAT}, modems: 1,
		},
		{
			name: "Quectel EC25: the layout decides between two quiet AT ports",
			ports: []PortReport{{Path: "/dev/ttyUSB0", Interface: 0, Heard: HeardGarbage, obs: observation{binary: true}},
				{Path: "/dev/ttyUSB1", Interface: 1, Heard: HeardNMEA},
				at("/dev/ttyUSB2", "/dev/serial/by-id/usb-Quectel_EG25-G-if02-port0", "Quectel", &yes),
				at("/dev/ttyUSB3", "/dev/serial/by-id/usb-Quectel_EG25-G-if03-port0", "Quectel", &yes)},
			port: "/dev/serial/by-id/usb-Quectel_EG25-G-if02-port0", data: "/dev/serial/by-id/usb-Quectel_EG25-G-if03-port0",
			roles: []PortRole{RoleDiagnostic, RoleGPS, RoleAT, RoleData}, modems: 1,
		},
		{
			name: "unknown maker: the port refusing SMS is the data port",
			ports: []PortReport{at("/dev/ttyUSB1", "", "ZTE INCORPORATED", &no), at("/dev/ttyUSB2", "", "ZTE INCORPORATED", &yes),
				at("/dev/ttyUSB3", "", "ZTE INCORPORATED", &yes)},
			port: "/dev/ttyUSB2", data: "/dev/ttyUSB1", roles: []PortRole{RoleData, RoleAT, RoleOtherAT}, modems: 1,
		},
		{
			name:  "one AT port: no data port, pppd borrows it",
			ports: []PortReport{at("/dev/ttyACM0", "", "u-blox", &yes)},
			port:  "/dev/ttyACM0", data: "", roles: []PortRole{RoleAT}, modems: 1,
			whyFirstAT: "only AT port",
		},
		{
			name: "nothing answers AT",
			ports: []PortReport{silent, {Path: "/dev/ttyUSB2", Heard: HeardHeld, Holders: []Holder{{612, "ModemManager"}}},
				{Path: "/dev/ttyUSB3", Heard: HeardGarbage, obs: observation{echoed: true}}},
			roles: []PortRole{RoleDiagnostic, RoleUnknown, RoleNotModem},
		},
		{
			name: "two modems: the better one is suggested, the other still gets roles",
			ports: []PortReport{{Path: "/dev/ttyACM0", Interface: -1, Heard: HeardAT, IMEI: "111", SMS: &no},
				{Path: "/dev/ttyUSB2", Interface: -1, Heard: HeardAT, IMEI: "222", SMS: &yes, Unsolicited: []string{"+CREG: 1"}}},
			port: "/dev/ttyUSB2", roles: []PortRole{RoleAT, RoleAT}, modems: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.ports {
				if tt.ports[i].Role == "" {
					tt.ports[i].Role = RoleUnknown
				}
			}
			res := FindResult{Ports: tt.ports}
			suggest(&res)
			if res.Port != tt.port || res.DataPort != tt.data || res.Modems != tt.modems {
				t.Errorf("port %q data %q modems %d; want %q %q %d", res.Port, res.DataPort, res.Modems, tt.port, tt.data, tt.modems)
			}
			for i, p := range res.Ports {
				if p.Role != tt.roles[i] {
					t.Errorf("%s: role %s, want %s (%s)", p.Path, p.Role, tt.roles[i], p.Why)
				}
				if p.Role != RoleUnknown && p.Why == "" {
					t.Errorf("%s: no evidence for %s", p.Path, p.Role)
				}
				if p.Role == RoleAT && tt.whyFirstAT != "" && !strings.Contains(p.Why, tt.whyFirstAT) {
					t.Errorf("%s: why %q lacks %q", p.Path, p.Why, tt.whyFirstAT)
				}
			}
		})
	}
}

// testPty is a pseudo-terminal whose slave a finder probes and whose
// master the test plays the device on.
type testPty struct {
	master *os.File // non-blocking, so Close wakes a Read
	path   string
}

func newTestPty(t *testing.T, respond func(got []byte) []byte) *testPty {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	// pty.Open leaves the master blocking (a blocked Read would survive
	// Close): move it onto the poller.
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	p := &testPty{master: os.NewFile(uintptr(fd), "ptmx"), path: s.Name()}
	// The test keeps the slave open: a master read then waits for data
	// instead of failing while the finder has not opened the port yet.
	// (The finder never counts its own process as a holder.)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		p.master.Close()
		s.Close()
		wg.Wait()
	})
	if respond != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			for {
				n, err := p.master.Read(buf)
				if err != nil {
					return
				}
				if out := respond(buf[:n]); len(out) > 0 {
					p.master.Write(out)
				}
			}
		}()
	}
	return p
}

// written reports whether anything was written to the port's slave side
// (the device would have read it).
func (p *testPty) written(t *testing.T) bool {
	t.Helper()
	rc, err := p.master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	ready := false
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 0)
		ready = n > 0 && fds[0].Revents&unix.POLLIN != 0
	})
	return ready
}

// holdOpen starts a process that holds path open (as fd 3) until the test
// ends; it returns the PID.
func holdOpen(t *testing.T, path string) int {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("cat") // runs until its stdin closes
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func TestFindAmongPortsThatAreNotModems(t *testing.T) {
	pcui := newSimulator(t)
	pcui.SetNoise(true)
	// The same modem's data port: answers AT, refuses SMS commands.
	data := newSimulator(t, modemsim.WithoutCommands("+CMGF", "+CPMS", "+CMGL", "+CMGR", "+CMGS", "+CMGD", "+CNMI", "+CSMS"))
	silent := newTestPty(t, nil)
	garbage := newTestPty(t, func([]byte) []byte { return []byte{0x7e, 0x00, 0x4b, 0xff, 0x13, 0x7e} })
	gps := newTestPty(t, func([]byte) []byte {
		return []byte("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n")
	})
	echo := newTestPty(t, func(b []byte) []byte { return b })
	held := newTestPty(t, nil)
	console := newTestPty(t, nil)
	holder := holdOpen(t, held.path)

	paths := []string{pcui.Path(), silent.path, garbage.path, gps.path, echo.path, held.path, console.path, data.Path()}
	cands, err := SerialCandidates("/dev", "linux", paths)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var opened []string
	f := &PortFinder{
		Open: func(p string) (io.ReadWriteCloser, error) {
			mu.Lock()
			opened = append(opened, p)
			mu.Unlock()
			return serialport.Open(p, 115200)
		},
		Holders: ProcHolders{Proc: os.DirFS("/proc"), Self: os.Getpid()},
		Timeout: time.Second,
		Skip:    map[string]string{console.path: "console.device"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := f.Find(ctx, cands)

	want := []struct {
		heard Heard
		role  PortRole
	}{
		{HeardAT, RoleAT}, {HeardSilence, RoleDiagnostic}, {HeardGarbage, RoleDiagnostic}, {HeardNMEA, RoleGPS},
		{HeardGarbage, RoleNotModem}, {HeardHeld, RoleUnknown}, {HeardSkipped, RoleUnknown}, {HeardAT, RoleData},
	}
	if len(res.Ports) != len(want) {
		t.Fatalf("%d ports reported, want %d: %+v", len(res.Ports), len(want), res.Ports)
	}
	for i, w := range want {
		if p := res.Ports[i]; p.Heard != w.heard || p.Role != w.role {
			t.Errorf("%s: heard %s, role %s (%s); want %s, %s", p.Path, p.Heard, p.Role, p.Why, w.heard, w.role)
		}
	}
	at := res.Ports[0]
	if at.Manufacturer != "huawei" || at.Model != "E1752" || at.IMEI != "353142030123456" || at.SIM != SIMReady ||
		at.SMS == nil || !*at.SMS || len(at.Unsolicited) == 0 {
		t.Errorf("AT port report: %+v", at)
	}
	if d := res.Ports[7]; d.SMS == nil || *d.SMS || d.IMEI != at.IMEI {
		t.Errorf("data port report: %+v", d)
	}
	if h := res.Ports[5]; len(h.Holders) != 1 || h.Holders[0].PID != holder {
		t.Errorf("held port: holders %v, want PID %d", h.Holders, holder)
	}
	if res.Port != pcui.Path() || res.DataPort != data.Path() || res.Modems != 1 {
		t.Errorf("suggested port %q data %q (%d modems); want %s, %s", res.Port, res.DataPort, res.Modems, pcui.Path(), data.Path())
	}
	for _, p := range opened {
		if p == held.path || p == console.path {
			t.Errorf("%s was opened", p)
		}
	}
	if held.written(t) || console.written(t) {
		t.Error("bytes were written to the held port or the console")
	}
	// Nothing but questions: no dial, no setting changed.
	for _, c := range pcui.Commands() {
		switch c {
		case "AT", "AT+CGMI", "AT+CGMM", "AT+CGSN", "AT+CPIN?", "AT+CMGF=?":
		default:
			t.Errorf("the probe sent %s", c)
		}
	}
}

func TestFindOpenErrors(t *testing.T) {
	f := &PortFinder{Open: func(p string) (io.ReadWriteCloser, error) { return serialport.Open(p, 115200) }, Timeout: 100 * time.Millisecond}
	plain := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(plain, nil, 0o600)
	res := f.Find(context.Background(), []Candidate{{Path: plain}})
	if p := res.Ports[0]; p.Heard != HeardError || !strings.Contains(p.Reason, "not a serial device") || res.Port != "" {
		t.Errorf("a plain file: %+v", res)
	}
	// FreeBSD has no /proc to ask: a busy open is how a holder shows.
	busy := &PortFinder{Open: func(p string) (io.ReadWriteCloser, error) {
		return nil, &os.PathError{Op: "open", Path: p, Err: unix.EBUSY}
	}}
	res = busy.Find(context.Background(), []Candidate{{Path: "/dev/cuaU0.2"}})
	if p := res.Ports[0]; p.Heard != HeardHeld || !strings.Contains(p.Reason, "busy") {
		t.Errorf("a busy port: %+v", p)
	}
}

func TestHolderHint(t *testing.T) {
	tests := []struct {
		holders []Holder
		want    string
	}{
		{[]Holder{{612, "ModemManager"}}, "systemctl disable --now ModemManager"},
		{[]Holder{{612, "ModemManager"}}, "99-oobd-modemmanager.rules"},
		{[]Holder{{40, "minicom"}, {900, "pppd"}}, "PPP link"},
		{[]Holder{{77, "oobd"}}, "systemctl stop oobd"},
		{[]Holder{{40, "minicom"}}, "stop it to probe this port"},
	}
	for _, tt := range tests {
		if got := holderHint(tt.holders); !strings.Contains(got, tt.want) {
			t.Errorf("holderHint(%v) = %q, want it to say %q", tt.holders, got, tt.want)
		}
	}
}
