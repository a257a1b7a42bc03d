package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/serialport"
)

// runModemFind is `oobd modem find`: which serial port is the modem's AT
// port, which its data port, and what holds the others.
func runModemFind(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "modem find", "[--config FILE] [--timeout D] [--json] [PATH...]\n\n"+
		"Probes serial ports with a few read-only AT commands and says which is\n"+
		"the modem's AT port (modem.port) and which its data port for pppd\n"+
		"(modem.data_port). Without PATHs it tries /dev/serial/by-id/*, then\n"+
		"/dev/ttyUSB* and /dev/ttyACM* (FreeBSD: /dev/cuaU*). A port another\n"+
		"program holds open (ModemManager, pppd, oobd) is named and never\n"+
		"opened; with --config, console.device is never probed.\n")
	cfgPath := fs.String("config", "", "skip this oobd config `file`'s console.device (the router's console)")
	timeout := fs.Duration("timeout", time.Second, "how long each port may take to answer one command")
	baud := fs.Int("baud", serialport.DefaultBaud, "serial `speed` (USB modems ignore it)")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout %s: must be positive", *timeout)
	}
	if *baud <= 0 {
		return usagef("--baud %d: must be positive", *baud)
	}
	skip := map[string]string{}
	if *cfgPath != "" {
		dev, err := consoleDevice(*cfgPath)
		if err != nil {
			return usageError{err}
		}
		if dev != "" {
			if real, err := filepath.EvalSymlinks(dev); err == nil {
				dev = real
			}
			skip[dev] = fmt.Sprintf("console.device in %s: AT written to a router's console is not harmless", *cfgPath)
		}
	}
	cands, err := modem.SerialCandidates("/dev", runtime.GOOS, paths)
	if err != nil {
		return err
	}
	if len(cands) == 0 {
		looked := "/dev/serial/by-id/*, /dev/ttyUSB*, /dev/ttyACM*"
		if runtime.GOOS == "freebsd" {
			looked = "/dev/cuaU*"
		}
		return fmt.Errorf("no serial ports found (looked for %s): is the modem plugged in, "+
			"and switched out of its CD-ROM mode (usb-modeswitch)?", looked)
	}
	var holders modem.HolderScanner
	if runtime.GOOS == "linux" {
		holders = modem.ProcHolders{Proc: os.DirFS("/proc"), Self: os.Getpid()}
	}
	f := &modem.PortFinder{
		Open:    func(p string) (io.ReadWriteCloser, error) { return serialport.Open(p, *baud) },
		Holders: holders,
		Timeout: *timeout,
		Skip:    skip,
	}
	res := f.Find(ctx, cands)
	if *asJSON {
		if err := writeJSON(env.stdout, res); err != nil {
			return err
		}
	} else {
		printFindResult(env.stdout, res)
	}
	if res.Port == "" {
		return errors.New("no port answered AT")
	}
	return nil
}

// consoleDevice reads console.device from a config, leniently: a config
// still being written (missing secrets, placeholders) must not stop the
// search for its modem port.
func consoleDevice(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--config: %w", err)
	}
	var c struct {
		Console struct {
			Device string `yaml:"device"`
		} `yaml:"console"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("--config %s: %w", path, err)
	}
	return c.Console.Device, nil
}

func printFindResult(w io.Writer, res modem.FindResult) {
	for _, p := range res.Ports {
		fmt.Fprintln(w, p.Path)
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "  %s:\t%s\n", k, v) }
		if p.ByID != "" {
			row("stable name", p.ByID)
		}
		switch p.Heard {
		case modem.HeardHeld:
			if len(p.Holders) > 0 {
				hs := make([]string, len(p.Holders))
				for i, h := range p.Holders {
					hs[i] = h.String()
				}
				row("held by", strings.Join(hs, ", ")+": not opened")
				row("hint", p.Reason)
			} else {
				row("held", p.Reason+": not opened")
			}
		case modem.HeardSkipped:
			row("skipped", p.Reason)
		case modem.HeardError:
			row("error", p.Reason)
		case modem.HeardAT:
			row("answers AT", "yes")
			id := strings.TrimSpace(p.Manufacturer + " " + p.Model)
			if id == "" {
				id = "(does not say)"
			}
			if p.IMEI != "" {
				id += ", IMEI " + p.IMEI
			}
			row("modem", id)
			row("SIM", string(p.SIM))
			switch {
			case p.SMS == nil:
				row("SMS", "did not say")
			case *p.SMS:
				row("SMS", "yes")
			default:
				row("SMS", "no (refuses SMS commands)")
			}
		case modem.HeardSilence:
			row("answers AT", "no: silent")
		case modem.HeardNMEA:
			row("answers AT", "no: GPS sentences")
		case modem.HeardGarbage:
			row("answers AT", "no: answers something that is not AT")
		}
		if p.Why != "" && p.Heard != modem.HeardHeld && p.Heard != modem.HeardSkipped && p.Heard != modem.HeardError {
			row("looks like", p.Why)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	if res.HoldersUnknown {
		fmt.Fprintln(w, "note: not every process could be checked for open ports (run as root to see them all).")
	}
	if res.Port == "" {
		fmt.Fprintln(w, "No port answered AT. Is the modem in modem mode (lsusb; a CD-ROM-mode stick needs usb-modeswitch)?")
		fmt.Fprintln(w, "Is a held port above the modem's (stop its holder and run find again)?")
		return
	}
	if res.Modems > 1 {
		fmt.Fprintf(w, "%d modems answered; the lines below are for the best AT port found.\n", res.Modems)
	}
	fmt.Fprintln(w, "Paste into the modem: section of oobd.yaml:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "modem:")
	fmt.Fprintf(w, "  port: %s\n", res.Port)
	if res.DataPort == "" {
		fmt.Fprintln(w, `  data_port: ""   # one AT port: pppd borrows it during a session`)
	} else {
		fmt.Fprintf(w, "  data_port: %s\n", res.DataPort)
	}
	if !strings.HasPrefix(res.Port, "/dev/serial/by-id/") && strings.Contains(res.Port, "ttyUSB") {
		fmt.Fprintln(w, "\n(No stable by-id name: ttyUSB numbers can change after a re-plug; the udev rule in configs/udev/ gives fixed names.)")
	}
}
