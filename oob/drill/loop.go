package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/phone"
	"github.com/oobd/oobd/oob/session"
)

// LoopWait is how long a drill waits for its text to come back.
const LoopWait = 5 * time.Minute

// ErrNoOwnNumber fails the SMS loop of a SIM whose number is not known.
var ErrNoOwnNumber = errors.New("own number unknown: set modem.own_number")

// Loop is a drill's SMS loop: a text with a one-time token to the SIM's
// own number, which the inbox hands back (Match) before any other check.
// Any other text from the own number is a stranger's.
type Loop struct {
	// OwnNumber is modem.own_number in E.164; "" asks the SIM.
	OwnNumber string
	// AskSIM asks the SIM for its number (AT+CNUM): "" when it does not
	// know it. Nil: the SIM is not asked.
	AskSIM      func(ctx context.Context) (string, error)
	CountryCode string // trigger.country_code, for a national number and senders
	Wait        time.Duration
	Now         func() time.Time

	mu    sync.Mutex    // guards own, token and back
	own   string        // E.164, while a loop waits
	token string        // "" when no loop waits
	back  chan struct{} // closed when the text came back
}

// ownNumber is the number to text: modem.own_number, else the SIM's own
// (AT+CNUM). Many SIMs do not know theirs, and many modems answer
// AT+CNUM with an error: both are ErrNoOwnNumber.
func (l *Loop) ownNumber(ctx context.Context) (string, error) {
	if l.OwnNumber != "" {
		return l.OwnNumber, nil
	}
	if l.AskSIM == nil {
		return "", ErrNoOwnNumber
	}
	n, err := l.AskSIM(ctx)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w (AT+CNUM: %v)", ErrNoOwnNumber, err)
	case n == "":
		return "", fmt.Errorf("%w (the SIM does not know it)", ErrNoOwnNumber)
	}
	e, err := phone.Parse(n, l.CountryCode)
	if err != nil {
		return "", fmt.Errorf("the SIM's own number %q: %w", n, err)
	}
	return e, nil
}

// Run texts the own number and waits for the text to come back.
func (l *Loop) Run(ctx context.Context, sms notify.Texter) (session.StepTime, error) {
	start := l.Now()
	st := session.StepTime{Name: StepSMSLoop}
	fail := func(err error) (session.StepTime, error) {
		st.Took, st.Err = l.Now().Sub(start), err.Error()
		return st, err
	}
	own, err := l.ownNumber(ctx)
	if err != nil {
		return fail(err)
	}
	var b [8]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	back := make(chan struct{})
	l.mu.Lock()
	l.own, l.token, l.back = own, token, back
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.token = ""
		l.mu.Unlock()
	}()
	sms.Send(ctx, own, "oobd drill "+token)
	wait := l.Wait
	if wait <= 0 {
		wait = LoopWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-back:
		st.Took = l.Now().Sub(start)
		return st, nil
	case <-t.C:
		return fail(fmt.Errorf("the text to %s did not come back within %s", own, wait))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// Match takes the drill's own text: from the own number, with the token
// of the loop that waits. It is the inbox's loopback hook.
func (l *Loop) Match(m modem.Message) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token == "" {
		return false
	}
	sender, ok := phone.Normalize(m.Sender, m.SenderTON, l.CountryCode)
	if !ok || sender != l.own || !strings.Contains(m.Text, l.token) {
		return false
	}
	l.token = ""
	close(l.back)
	return true
}
