// Command oobd is the out-of-band management agent: the daemon (`oobd run`)
// and the operator's subcommands. See the README for the whole picture.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes, as the specification fixes them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// defaultConfig is where --config points unless told otherwise: the
// Debian package's config when there is one, else the hand install's.
func defaultConfig() string {
	return firstExisting("/etc/oobd/oobd.yaml", "/usr/local/etc/oobd/oobd.yaml")
}

// firstExisting is the first of paths that exists, or the last (which the
// error then names).
func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[len(paths)-1]
}

// usageError marks a problem with how oobd was called (or with its
// config): it exits 2 instead of 1.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errQuietFailure exits 1 without a message: what failed is in the
// command's output (a failed check in `oobd status`).
var errQuietFailure = errors.New("failed")

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// command is one subcommand. Words is how it is called ("sms list").
type command struct {
	words   string
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what a command may touch of the process: its streams.
type cmdEnv struct {
	stdout, stderr io.Writer
}

// commands lists every subcommand. Each lives in its own file.
func commands() []command {
	return []command{
		{"version", "print the version", runVersion},
		{"modem simulate", "run a simulated modem on a pseudo-terminal", runModemSimulate},
		{"run", "the daemon: run --config FILE", runDaemon},
		{"demo", "the whole lifecycle on this machine, no modem or root needed", runDemo},
		{"modem info", "the modem, its SIM, signal and network", runModemInfo},
		{"modem find", "which serial port is the modem's AT port: modem find [PATH...]", runModemFind},
		{"sms list", "list the stored text messages", runSMSList},
		{"sms send", "send a text: sms send NUMBER TEXT", runSMSSend},
		{"sms delete", "delete stored texts: sms delete (INDEX|--all)", runSMSDelete},
		{"up", "ask the running daemon for a session: up [--for 30m]", runUp},
		{"down", "end the running daemon's session", runDown},
		{"drill", "one end-to-end test of the whole path, now", runDrill},
		{"check-config", "check a config: every problem, or what it will do", runCheckConfig},
		{"status", "the daemon's state: session, modem, lockout, failures", runStatus},
		{"totp", "a new TOTP secret and its otpauth:// URI", runTOTP},
		{"modem", "list the modem subcommands", runModemGroup},
		{"sms", "list the sms subcommands (stored texts)", runSMSGroup},
		{"secret", "a new random trigger secret in a file: secret --file FILE", runSecret},
		{"doctor", "check everything a session needs, without dialing", runDoctor},
		{"unlock", "end the trigger's lockout through the running daemon", runUnlock},
		{"extend", "move the running session's end: extend DURATION", runExtend},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cmdEnv{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run finds the subcommand named by the leading words of args and runs it.
func run(ctx context.Context, env *cmdEnv, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var best *command
	bestLen := 0
	for i := range cmds {
		w := strings.Fields(cmds[i].words)
		if len(w) <= len(args) && len(w) > bestLen && equalWords(w, args[:len(w)]) {
			best, bestLen = &cmds[i], len(w)
		}
	}
	if best == nil {
		fmt.Fprintf(env.stderr, "oobd: unknown command %q\n\n", strings.Join(args, " "))
		printUsage(env.stderr, cmds)
		return exitUsage
	}
	err := best.run(ctx, env, args[bestLen:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelpShown):
		return exitOK
	case errors.Is(err, errQuietFailure):
		return exitFailure // the output already says what failed
	}
	fmt.Fprintf(env.stderr, "oobd %s: %v\n", best.words, err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "usage: oobd COMMAND [flags]\n\ncommands:")
	sorted := append([]command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].words < sorted[j].words })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-16s %s\n", c.words, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'oobd COMMAND --help' for a command's flags.")
}
