package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oobd/oobd/modem"
)

func runSMSList(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "sms list", "[--port PATH] [--baud N] [--timeout D] [--json]\n\n"+
		"Lists every stored message, multipart ones reassembled. Long texts are\n"+
		"cut to one line; --json prints them whole.\n")
	mf := addModemFlags(fs)
	m, err := mf.parseAndOpen(ctx, env, args)
	if err != nil {
		return err
	}
	defer m.Close()
	msgs, err := m.Messages(ctx)
	if err != nil {
		return err
	}
	if mf.json {
		if msgs == nil {
			msgs = []modem.Message{}
		}
		return writeJSON(env.stdout, msgs)
	}
	printMessages(env.stdout, msgs)
	return nil
}

func printMessages(w io.Writer, msgs []modem.Message) {
	if len(msgs) == 0 {
		fmt.Fprintln(w, "no messages stored")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tFROM\tSENT (SCTS)\tCODING\tPARTS\tTEXT")
	for _, m := range msgs {
		idx := make([]string, len(m.Indexes))
		for i, n := range m.Indexes {
			idx[i] = strconv.Itoa(n)
		}
		parts := fmt.Sprintf("%d/%d", m.Have, m.Parts)
		if !m.Complete {
			parts += " incomplete"
		}
		from := m.Sender
		if from == "" {
			from = "-"
		}
		sent := "-"
		if !m.SCTS.IsZero() {
			sent = m.SCTS.Format("2006-01-02 15:04:05 -07:00")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.Join(idx, ","), from, sent, m.Encoding, parts, shown(m))
	}
	tw.Flush()
}

// shown is a message's text on one line, or a description of its data.
func shown(m modem.Message) string {
	if m.Encoding == modem.EncodingBinary {
		d := m.Data
		more := ""
		if len(d) > 16 {
			d, more = d[:16], "…"
		}
		s := fmt.Sprintf("<%d bytes of data: %s%s>", len(m.Data), hex.EncodeToString(d), more)
		if m.Problem != "" {
			s += " (" + m.Problem + ")"
		}
		return s
	}
	t := strings.NewReplacer("\r\n", "⏎", "\n", "⏎", "\r", "⏎", "\t", " ").Replace(m.Text)
	if r := []rune(t); len(r) > maxShown {
		t = string(r[:maxShown]) + "…"
	}
	return t
}

// maxShown keeps a listing to one screen line per message; --json has
// every character.
const maxShown = 60

func runSMSSend(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "sms send", "[--port PATH] [--baud N] [--timeout D] [--json] NUMBER TEXT...")
	mf := addModemFlags(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return usagef("want NUMBER and TEXT")
	}
	number, text := rest[0], strings.Join(rest[1:], " ")
	m, err := mf.open(ctx, env)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Send(ctx, number, text); err != nil {
		return err
	}
	if mf.json {
		return writeJSON(env.stdout, map[string]any{"sent": true, "to": number, "characters": len([]rune(text)), "time": time.Now().Format(time.RFC3339)})
	}
	fmt.Fprintf(env.stdout, "sent %d characters to %s\n", len([]rune(text)), number)
	return nil
}

func runSMSDelete(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "sms delete", "[--port PATH] [--baud N] [--timeout D] [--json] (INDEX|--all)")
	mf := addModemFlags(fs)
	all := fs.Bool("all", false, "delete every stored message")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	index := -1
	switch {
	case *all && len(rest) == 0:
	case !*all && len(rest) == 1:
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 {
			return usagef("INDEX %q: want a storage index (0 or more)", rest[0])
		}
		index = n
	default:
		return usagef("want exactly one of INDEX or --all")
	}
	m, err := mf.open(ctx, env)
	if err != nil {
		return err
	}
	defer m.Close()
	if *all {
		err = m.DeleteAll(ctx)
	} else {
		err = m.Delete(ctx, index)
	}
	if err != nil {
		return err
	}
	switch {
	case mf.json:
		return writeJSON(env.stdout, map[string]any{"deleted": true, "all": *all, "index": index})
	case *all:
		fmt.Fprintln(env.stdout, "deleted every stored message")
	default:
		fmt.Fprintf(env.stdout, "deleted message %d\n", index)
	}
	return nil
}
