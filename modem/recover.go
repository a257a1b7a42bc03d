package modem

import (
	"context"
	"fmt"
	"time"
)

// Recover brings back a modem that stopped answering, one rung at a time,
// checking after each whether it answers "AT" again:
//
//  1. re-open the port (the same path: a /dev/serial/by-id/ name follows a
//     modem that re-enumerated as another ttyUSBn) and initialise it;
//  2. reset the modem (AT+CFUN=1,1) and wait for it to come back;
//  3. run the recovery command (a USB power cycle) and wait again.
//
// Settings are asserted again after each (ATZ and resets forget them).
// It returns nil as soon as the modem answers, or the last rung's error.
func (m *Modem) Recover(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.s != nil {
		if _, err := m.command(ctx, "", m.o.cmdTimeout); err == nil {
			select {
			case <-m.s.at.Closed():
			default:
				return nil
			}
		}
	}
	pause := m.o.backoff

	// 1: re-open.
	m.o.log.Warn("modem: recovering: re-opening the port", "port", m.port)
	m.stats.set(func(s *Stats) { s.Reopens++ })
	m.stop()
	err := m.start(ctx)
	if err == nil {
		return nil
	}
	m.note(err)
	if err := sleep(ctx, pause); err != nil {
		return err
	}
	pause *= 2

	// 2: reset, when the port is there to take the command.
	if m.s != nil {
		m.o.log.Warn("modem: recovering: resetting the modem (AT+CFUN=1,1)", "port", m.port, "after", err)
		m.stats.set(func(s *Stats) { s.Resets++ })
		// Many modems drop the port instead of answering: either way, wait
		// for it to come back.
		_, _ = m.command(ctx, "+CFUN=1,1", m.o.cmdTimeout)
		m.stop()
		if err = m.awaitModem(ctx); err == nil {
			return nil
		}
		m.note(err)
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}

	// 3: power cycle.
	if len(m.o.recoveryCmd) == 0 {
		return fmt.Errorf("modem: recovery failed (no recovery_command to try): %w", err)
	}
	m.o.log.Warn("modem: recovering: running the recovery command", "port", m.port, "command", m.o.recoveryCmd[0], "after", err)
	m.stats.set(func(s *Stats) { s.PowerCycles++ })
	m.stop()
	rctx, cancel := context.WithTimeout(ctx, m.o.recoveryWait)
	cerr := m.o.runCmd(rctx, m.o.recoveryCmd)
	cancel()
	if cerr != nil {
		m.o.log.Error("modem: recovery command failed", "err", cerr)
	}
	if err = m.awaitModem(ctx); err != nil {
		if cerr != nil {
			err = fmt.Errorf("%w (recovery command: %v)", err, cerr)
		}
		return m.note(fmt.Errorf("modem: recovery failed: %w", err))
	}
	return nil
}

// awaitModem re-opens the port until the modem answers or comeBack ends.
// A modem that was reset may ask for its PIN again.
func (m *Modem) awaitModem(ctx context.Context) error {
	deadline := time.Now().Add(m.o.comeBack)
	var err error
	for {
		if err = sleep(ctx, m.o.retryEvery); err != nil {
			return err
		}
		m.stop()
		if err = m.start(ctx); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("modem did not come back within %s: %w", m.o.comeBack, err)
		}
	}
}
