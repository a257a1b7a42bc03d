package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/config"
)

// modemFlags are the flags every modem and sms command takes.
type modemFlags struct {
	fs      *flag.FlagSet
	config  string
	port    string
	baud    int
	timeout time.Duration
	pinFile string
	json    bool
}

func addModemFlags(fs *flag.FlagSet) *modemFlags {
	f := &modemFlags{fs: fs}
	fs.StringVar(&f.config, "config", "", "take the modem's port, baud, timeout and PIN file from this oobd config `file` (flags given as well win)")
	fs.StringVar(&f.port, "port", "/dev/ttyUSB2", "the modem's AT `port` (a /dev/serial/by-id/ path survives re-enumeration)")
	fs.IntVar(&f.baud, "baud", 115200, "serial `speed`")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "how long one AT command may take")
	fs.StringVar(&f.pinFile, "pin-file", "", "`file` holding the SIM PIN, used when the SIM asks for it")
	fs.BoolVar(&f.json, "json", false, "print JSON for scripts")
	return f
}

// parseAndOpen parses args, which take no positional argument, and opens
// the modem.
func (f *modemFlags) parseAndOpen(ctx context.Context, env *cmdEnv, args []string) (*modem.Modem, error) {
	rest, err := parseFlags(f.fs, args)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q", rest[0])
	}
	return f.open(ctx, env)
}

func (f *modemFlags) open(ctx context.Context, env *cmdEnv) (*modem.Modem, error) {
	if f.config != "" {
		cfg, err := config.Load(f.config, config.WithoutFileChecks())
		if err != nil {
			return nil, usageError{err}
		}
		given := map[string]bool{}
		f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
		if !given["port"] {
			f.port = cfg.Modem.Port
		}
		if !given["baud"] {
			f.baud = cfg.Modem.Baud
		}
		if !given["timeout"] {
			f.timeout = cfg.Modem.CommandTimeout
		}
		if !given["pin-file"] {
			f.pinFile = cfg.Modem.PINFile
		}
	}
	if f.baud <= 0 {
		return nil, usagef("--baud %d: must be positive", f.baud)
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout %s: must be positive", f.timeout)
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return modem.Open(ctx, f.port, modem.WithBaud(f.baud), modem.WithCommandTimeout(f.timeout),
		modem.WithPINFile(f.pinFile), modem.WithLogger(log))
}

func runModemInfo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "modem info", "[--port PATH] [--baud N] [--timeout D] [--json]")
	mf := addModemFlags(fs)
	providers := fs.String("providers", "", "the mobile-broadband-provider-info `file` the APN hint comes from (default: where the package installs it)")
	m, err := mf.parseAndOpen(ctx, env, args)
	if err != nil {
		return err
	}
	defer m.Close()
	in, err := m.Info(ctx)
	if err != nil {
		return err
	}
	apn := lookupAPNHint(in.IMSI, *providers, providerDB(runtime.GOOS))
	if mf.json {
		return writeJSON(env.stdout, struct {
			modem.Info
			APN apnHint `json:"apn"`
		}{in, apn})
	}
	printInfo(env.stdout, in, apn)
	return nil
}

func printInfo(w io.Writer, in modem.Info, apn apnHint) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("manufacturer", in.Manufacturer)
	row("model", in.Model)
	row("firmware", in.Revision)
	row("IMEI", in.IMEI)
	sim := string(in.SIM)
	if in.PINAttempts >= 0 {
		sim += fmt.Sprintf(" (%d PIN attempts left)", in.PINAttempts)
	}
	if in.SIMReason != "" {
		sim += ": " + in.SIMReason
	}
	row("SIM", sim)
	row("IMSI", in.IMSI)
	row("ICCID", in.ICCID)
	op := in.Operator
	if op == "" {
		op = "(none)"
	}
	row("operator", op)
	row("registration", string(in.Registration))
	if in.SignalKnown {
		row("signal", fmt.Sprintf("%d dBm  %s %d/5", in.SignalDBm, bars(in.SignalBars), in.SignalBars))
	} else {
		row("signal", "unknown (no signal detected)")
	}
	if in.StorageTotal > 0 {
		row("storage", fmt.Sprintf("%d/%d messages", in.StorageUsed, in.StorageTotal))
	}
	apnRows(func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }, apn)
	tw.Flush()
}

// bars draws n of 5 signal bars.
func bars(n int) string {
	glyphs := []rune("▁▂▄▆█")
	var b strings.Builder
	for i := range glyphs {
		if i < n {
			b.WriteRune(glyphs[i])
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
