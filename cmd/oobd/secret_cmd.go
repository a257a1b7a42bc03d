package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/oobd/oobd/oob/trigger"
)

// The trigger secret is typed on a phone, as the first word of a text, and
// compared case-sensitively. So it is made of lower-case letters and digits
// (all in GSM 7-bit, one character each), without look-alikes (0/o, 1/l;
// no capitals, so no O or I), and starts with a digit: phone keyboards
// capitalise the first letter of a message, never a digit, and do not
// autocorrect a word that starts with one.
const (
	secretDigits   = "23456789"
	secretAlphabet = secretDigits + "abcdefghijkmnpqrstuvwxyz" // 32 symbols: 5 bits each
	// secretLength gives 3 + 17×5 = 88 bits: beyond guessing by text
	// message (each try costs a text, and the lockout stops them).
	secretLength = 18
)

// secretBits is the entropy of a secret from newSecret.
const secretBits = 3 + (secretLength-1)*5

// newSecret returns a random trigger secret read from r (crypto/rand).
func newSecret(r io.Reader) (string, error) {
	for {
		b := make([]byte, secretLength)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("secret: random: %w", err)
		}
		// 8 and 32 divide 256: masking keeps every symbol equally likely.
		b[0] = secretDigits[b[0]&7]
		for i := 1; i < len(b); i++ {
			b[i] = secretAlphabet[b[i]&31]
		}
		// A digit first rules verbs out already; the grammar is the judge.
		if _, verb := trigger.ParseVerb(string(b)); !verb {
			return string(b), nil
		}
	}
}

// runSecret is `oobd secret --file F`: a new trigger secret in F (mode
// 0600), shown once so the owner can learn it. It never takes a secret on
// the command line and never logs one.
func runSecret(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "secret", "--file FILE [--force]\n\n"+
		"Writes a new random trigger secret (88 bits, lower-case letters and\n"+
		"digits without look-alikes, easy to type on a phone) to FILE, mode\n"+
		"0600, and prints it once. Point trigger.secret_file at FILE.\n")
	file := fs.String("file", "", "the secret `file` to write (trigger.secret_file)")
	force := fs.Bool("force", false, "replace an existing file (the old secret stops working)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *file == "" {
		return usagef("--file is required")
	}
	secret, err := newSecret(rand.Reader)
	if err != nil {
		return err
	}
	if *force {
		err = replaceFile(*file, []byte(secret+"\n"))
	} else {
		err = createFile(*file, []byte(secret+"\n"))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "secret: %s\n", secret)
	fmt.Fprintf(env.stdout, "Written to %s (mode 0600). Learn it now: oobd never shows it again.\n", *file)
	fmt.Fprintln(env.stdout, "Texts read: SECRET [VERB [ARG]], e.g. \"SECRET up 1h\". Set trigger.secret_file to the file.")
	return nil
}

// createFile writes data to a new file, mode 0600; an existing one is
// left alone.
func createFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: not replacing a secret that may be in use (--force replaces it)", path)
		}
		return err
	}
	if err := writeSync(f, data); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// replaceFile writes data to a temporary file beside path and renames it
// over path: readers see the old secret or the new one, never half.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return err
	}
	if err := writeSync(f, data); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(0o600) // whatever the umask did
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("secret: write %s: %w", f.Name(), err)
	}
	return nil
}
