package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
)

// holderEnv makes the test binary a helper that holds fd 3 open until
// its stdin closes (see holdOpen).
const holderEnv = "OOBD_TEST_HOLDER"

func TestMain(m *testing.M) {
	if os.Getenv(holderEnv) == "1" {
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakePort is a pseudo-terminal playing a serial device that is not a
// modem: respond (if any) answers every write to the port.
type fakePort struct {
	master, slave *os.File
}

func newFakePort(t *testing.T, respond func([]byte) []byte) *fakePort {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	p := &fakePort{master: m, slave: s}
	done := make(chan struct{})
	t.Cleanup(func() {
		s.Close() // the last slave closing ends the responder's read (EIO)
		<-done
		m.Close()
	})
	go func() {
		defer close(done)
		if respond == nil {
			return
		}
		buf := make([]byte, 256)
		for {
			n, err := m.Read(buf)
			if err != nil {
				return
			}
			m.Write(respond(buf[:n]))
		}
	}()
	return p
}

func (p *fakePort) path() string { return p.slave.Name() }

// written reports whether anything was written to the port.
func (p *fakePort) written() bool {
	fds := []unix.PollFd{{Fd: int32(p.master.Fd()), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n > 0 && fds[0].Revents&unix.POLLIN != 0
}

// holdOpen starts a helper process holding path open and returns its PID
// and name once it runs.
func holdOpen(t *testing.T, path string) (int, string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holderEnv+"=1")
	cmd.ExtraFiles = []*os.File{f}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	// "ready" comes after exec: the process has its final name by then.
	if l, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("holder: %q, %v", l, err)
	}
	name := filepath.Base(os.Args[0])
	if len(name) > 15 { // the kernel's comm is 15 bytes
		name = name[:15]
	}
	return cmd.Process.Pid, name
}

func TestModemFindAmongPortsThatAreNotModems(t *testing.T) {
	at := newTestSim(t) // noise on: ^RSSI lines arrive between echo and reply
	data, err := modemsim.New(modemsim.WithoutCommands("+CMGF", "+CPMS", "+CMGL", "+CMGR", "+CMGS", "+CMGD", "+CNMI", "+CSMS"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	silent := newFakePort(t, nil)
	garbage := newFakePort(t, func([]byte) []byte { return []byte{0x7e, 0x00, 0x4b, 0xff, 0x13, 0x7e} })
	held := newFakePort(t, nil)
	console := newFakePort(t, nil)
	pid, name := holdOpen(t, held.path())
	_, cfg := writeConfig(t, "modem:", "console:\n  device: "+console.path()+"\n  listen: 127.0.0.1:2323\nmodem:")

	out, errOut, code := runOobd(t, "modem", "find", "--config", cfg, "--timeout", "1s",
		at.Path(), silent.path(), garbage.path(), held.path(), console.path(), data.Path())
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	want := strings.NewReplacer("<at>", at.Path(), "<silent>", silent.path(), "<garbage>", garbage.path(), "<held>", held.path(),
		"<console>", console.path(), "<data>", data.Path(), "<cfg>", cfg, "<holder>", fmt.Sprintf("%s (PID %d)", name, pid)).Replace(
		`<at>
  answers AT: yes
  modem:      huawei E1752, IMEI 353142030123456
  SIM:        ready
  SMS:        yes
  looks like: the AT port for oobd: answers AT and SMS commands; unsolicited lines arrive here (^RSSI:17)
<silent>
  answers AT: no: silent
  looks like: no answer to AT: a diagnostic (QCDM/DM) or GPS port, or not a modem
<garbage>
  answers AT: no: answers something that is not AT
  looks like: answers in binary, not AT: a diagnostic (QCDM) port or another device
<held>
  held by: <holder>: not opened
  hint:    another program has it open: stop it to probe this port
<console>
  skipped: console.device in <cfg>: AT written to a router's console is not harmless
<data>
  answers AT: yes
  modem:      huawei E1752, IMEI 353142030123456
  SIM:        ready
  SMS:        no (refuses SMS commands)
  looks like: the data port for pppd: answers AT but refuses SMS commands

Paste into the modem: section of oobd.yaml:

modem:
  port: <at>
  data_port: <data>
`)
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	t.Logf("oobd modem find --config %s ...:\n%s", cfg, out)
	if held.written() || console.written() {
		t.Error("the held port or the console got bytes")
	}

	// --json has the same findings for scripts.
	out, _, code = runOobd(t, "modem", "find", "--json", "--timeout", "1s", at.Path(), held.path())
	var res modem.FindResult
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.Port != at.Path() || res.DataPort != "" ||
		len(res.Ports) != 2 || res.Ports[1].Heard != modem.HeardHeld || res.Ports[1].Holders[0].PID != pid {
		t.Errorf("--json: exit %d, %v\n%s", code, err, out)
	}
}

func TestModemFindWithoutAModem(t *testing.T) {
	silent := newFakePort(t, nil)
	out, errOut, code := runOobd(t, "modem", "find", "--timeout", "100ms", silent.path())
	if code != exitFailure || !strings.Contains(errOut, "no port answered AT") || !strings.Contains(out, "No port answered AT") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	for _, args := range [][]string{{"--timeout", "0s"}, {"--baud", "-1"}, {"--config", filepath.Join(t.TempDir(), "none.yaml")}} {
		if _, _, code := runOobd(t, append([]string{"modem", "find"}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, errOut, code := runOobd(t, "modem", "find", "/dev/no-such-port"); code != exitFailure || !strings.Contains(errOut, "no-such-port") {
		t.Errorf("a missing port: exit %d, %s", code, errOut)
	}
}

func TestPrintFindResult(t *testing.T) {
	yes := true
	var b strings.Builder
	printFindResult(&b, modem.FindResult{
		Ports: []modem.PortReport{
			{Path: "/dev/ttyUSB2", ByID: "/dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0", Heard: modem.HeardAT,
				Manufacturer: "huawei", Model: "E1752", IMEI: "1", SIM: modem.SIMPIN, SMS: &yes, Why: "the AT port for oobd: …"},
			{Path: "/dev/cuaU0.1", Heard: modem.HeardHeld, Reason: "busy: another program has it open exclusively"},
			{Path: "/dev/ttyUSB3", Heard: modem.HeardError, Reason: "serialport: /dev/ttyUSB3: permission denied"},
		},
		Port:           "/dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0",
		HoldersUnknown: true,
	})
	for _, want := range []string{
		"  stable name: /dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0\n",
		"  SIM:         pin-required\n",
		"/dev/cuaU0.1\n  held: busy: another program has it open exclusively: not opened\n",
		"/dev/ttyUSB3\n  error: serialport: /dev/ttyUSB3: permission denied\n",
		"note: not every process could be checked for open ports (run as root to see them all).\n",
		"  port: /dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0\n  data_port: \"\"",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
