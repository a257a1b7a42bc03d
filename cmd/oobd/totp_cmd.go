package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/oobd/oobd/oob/totp"
)

// runTOTP makes a new TOTP secret, prints its otpauth:// URI for the
// owner's authenticator app, and optionally writes the secret file.
func runTOTP(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "totp", "[--secret-file FILE] [--issuer NAME] [--account NAME]")
	file := fs.String("secret-file", "", "write the base32 secret to this `file` (mode 0600; it must not exist)")
	issuer := fs.String("issuer", "oobd", "issuer shown by the authenticator app")
	account := fs.String("account", hostname(), "account name shown by the authenticator app")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	key, err := totp.NewKey()
	if err != nil {
		return err
	}
	secret := totp.Encode(key)
	if *file != "" {
		f, err := os.OpenFile(*file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists: not overwriting a TOTP secret in use", *file)
			}
			return err
		}
		_, werr := fmt.Fprintln(f, secret)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(*file)
			return werr
		}
		fmt.Fprintf(env.stdout, "secret written to %s (set trigger.totp_secret_file to it)\n", *file)
	} else {
		fmt.Fprintf(env.stdout, "secret: %s\n", secret)
	}
	fmt.Fprintf(env.stdout, "uri:    %s\n", totp.URI(key, *issuer, *account))
	fmt.Fprintln(env.stdout, "Add the URI to an authenticator app (e.g. as a QR code: qrencode -t ansiutf8 'URI').")
	fmt.Fprintln(env.stdout, "Texts then read: SECRET CODE [VERB [ARG]]")
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "oobd"
	}
	return h
}
