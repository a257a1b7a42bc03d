package modem

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"github.com/oobd/oobd/modem/serialport"
)

// Option configures a Modem.
type Option func(*options)

type options struct {
	baud        int
	cmdTimeout  time.Duration
	pinFile     string
	recoveryCmd []string
	indications bool
	memory      Memory
	log         *slog.Logger

	// The OS boundaries, replaced in tests.
	openPort func(path string, baud int) (io.ReadWriteCloser, error)
	runCmd   func(ctx context.Context, argv []string) error
	now      func() time.Time

	// Timings of the slower paths.
	listTimeout  time.Duration // +CMGL
	sendTimeout  time.Duration // +CMGS, per part
	resyncWait   time.Duration // how long a late answer is waited for
	comeBack     time.Duration // how long a reset modem has to reappear
	retryEvery   time.Duration // between re-open tries while it does
	recoveryWait time.Duration // bound on recovery_command
	backoff      time.Duration // first pause between recovery rungs
}

func defaults() options {
	return options{
		baud:         serialport.DefaultBaud,
		cmdTimeout:   5 * time.Second,
		log:          slog.New(slog.DiscardHandler),
		openPort:     serialport.Open,
		runCmd:       runCommand,
		now:          time.Now,
		listTimeout:  20 * time.Second,
		sendTimeout:  60 * time.Second,
		resyncWait:   10 * time.Second,
		comeBack:     60 * time.Second,
		retryEvery:   2 * time.Second,
		recoveryWait: 60 * time.Second,
		backoff:      time.Second,
	}
}

// WithBaud sets the serial speed (default 115200).
func WithBaud(b int) Option { return func(o *options) { o.baud = b } }

// WithCommandTimeout sets how long an ordinary command may take (default
// 5s). Listing and sending messages get longer built-in bounds.
func WithCommandTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.cmdTimeout = d
		}
	}
}

// WithPINFile names the file holding the SIM PIN (whitespace trimmed). The
// PIN is sent when the SIM asks for it, never twice once rejected, and
// never with the last try left.
func WithPINFile(path string) Option { return func(o *options) { o.pinFile = path } }

// WithRecoveryCommand sets the last rung of Recover: a command that
// power-cycles the modem (e.g. uhubctl -l 1-1 -a cycle).
func WithRecoveryCommand(argv []string) Option {
	return func(o *options) { o.recoveryCmd = append([]string(nil), argv...) }
}

// WithIndications asks the modem for +CMTI new-message indications
// (+CNMI=2,1) and delivers their storage indexes on Indications().
func WithIndications(on bool) Option { return func(o *options) { o.indications = on } }

// WithMemory keeps the counters and a rejected PIN in mem, so that they
// outlive a restart: above all, a PIN the SIM rejected is then never sent
// again by a later run.
func WithMemory(mem Memory) Option { return func(o *options) { o.memory = mem } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

func runCommand(ctx context.Context, argv []string) error {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil && len(out) > 0 {
		if len(out) > 200 {
			out = out[:200]
		}
		return &cmdError{err: err, out: string(out)}
	}
	return err
}

type cmdError struct {
	err error
	out string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + e.out }
func (e *cmdError) Unwrap() error { return e.err }
