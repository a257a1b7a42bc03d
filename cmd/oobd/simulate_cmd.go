package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/oobd/oobd/modem/modemsim"
)

// runModemSimulate is `oobd modem simulate`: a simulated modem on a pty,
// driven by commands on stdin.
func runModemSimulate(ctx context.Context, env *cmdEnv, args []string) error {
	return simulate(ctx, env, os.Stdin, args)
}

func simulate(ctx context.Context, env *cmdEnv, stdin io.Reader, args []string) error {
	fs := newFlagSet(env, "modem simulate", "[flags]\n\n"+
		"Starts a simulated Huawei E1752-class modem on a pseudo-terminal and prints\n"+
		"its path. Commands on stdin drive it (type \"help\"); Ctrl-D or Ctrl-C stops it.\n")
	pin := fs.String("pin", "", "lock the SIM with this PIN (4 to 8 digits)")
	capacity := fs.Int("capacity", 30, "SIM message storage `slots` (1-255)")
	link := fs.String("link", "", "also make a symlink at `PATH` to the pty (e.g. /tmp/oobd-modem)")
	noise := fs.Bool("noise", false, "start with unsolicited noise on")
	delay := fs.Duration("delay", 0, "start with every final result code delayed by this much")
	noInput := fs.Bool("no-input", false, "ignore stdin; run until interrupted")
	verbose := fs.Bool("verbose", false, "log what the modem does to stderr")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *delay < 0 {
		return usagef("--delay %v: negative", *delay)
	}
	opts := []modemsim.Option{modemsim.WithCapacity(*capacity)}
	if *pin != "" {
		opts = append(opts, modemsim.WithPIN(*pin))
	}
	if *verbose {
		opts = append(opts, modemsim.WithLogger(slog.New(slog.NewTextHandler(env.stderr, nil))))
	}
	sim, err := modemsim.New(opts...)
	if err != nil {
		if *capacity < 1 || *capacity > 255 || *pin != "" {
			return usagef("%v", err)
		}
		return err
	}
	defer sim.Close()
	sim.SetNoise(*noise)
	sim.SetDelay(*delay)

	port := sim.Path()
	if *link != "" {
		if err := makeLink(sim.Path(), *link); err != nil {
			return err
		}
		defer removeLink(sim.Path(), *link)
		port = *link
	}
	fmt.Fprintf(env.stdout, "modem simulator on %s", sim.Path())
	if *link != "" {
		fmt.Fprintf(env.stdout, " (link %s)", *link)
	}
	fmt.Fprintf(env.stdout, "\ntry: oobd modem info --port %s\n", port)
	if *noInput {
		fmt.Fprintln(env.stdout, "running until interrupted")
		<-ctx.Done()
		return nil
	}
	fmt.Fprintln(env.stdout, `type "help" for commands; Ctrl-D or Ctrl-C stops`)

	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		// Ends at EOF; when stdin never ends it stays blocked until the
		// process exits, which is where a Ctrl-C leads anyway.
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if err != nil {
				return fmt.Errorf("stdin: %w", err)
			}
			return nil
		case l := <-lines:
			if q := strings.TrimSpace(l); q == "quit" || q == "exit" {
				return nil
			}
			out, err := sim.Control(l)
			if err != nil {
				fmt.Fprintln(env.stdout, "error:", err)
				continue
			}
			if out != "" {
				fmt.Fprintln(env.stdout, out)
			}
		}
	}
}

// makeLink points link at target, replacing a stale symlink left by an
// earlier run but never a regular file.
func makeLink(target, link string) error {
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("--link %s: exists and is not a symlink", link)
		}
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("--link %s: %w", link, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--link %s: %w", link, err)
	}
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("--link %s: %w", link, err)
	}
	return nil
}

// removeLink removes link if it still points at target.
func removeLink(target, link string) {
	if dst, err := os.Readlink(link); err == nil && dst == target {
		os.Remove(link)
	}
}
