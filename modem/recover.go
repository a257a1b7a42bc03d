package modem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// The rungs of the recovery ladder, as Stats.Recovery.Step names them.
const (
	StepReopen     = "reopen"      // close the port, open it again
	StepReset      = "reset"       // AT+CFUN=1,1, then wait for the modem
	StepPowerCycle = "power-cycle" // modem.recovery_command, then wait
)

// Power cycles are not run on every ladder: a modem that stays away (no
// modem plugged in, a dead stick) would be power-cycled back to back. The
// first ladder of a streak of trouble runs the rung, then every tenth.
const powerCycleEvery = 10

// Recover brings back a modem that stopped answering, one rung at a time,
// checking after each whether it answers again:
//
//  1. re-open the port (the same path: a /dev/serial/by-id/ name follows a
//     modem that re-enumerated as another ttyUSBn), waiting for a port that
//     is not there for the come-back time;
//  2. reset the modem (AT+CFUN=1,1) and wait for it to come back;
//  3. run the recovery command (a USB power cycle) and wait again.
//
// Settings are asserted again after each (ATZ and resets forget them). It
// returns nil as soon as the modem answers, or the last rung's error. A
// Modem made by New runs it by itself on trouble; a tool calls it when it
// wants.
func (m *Modem) Recover(ctx context.Context) error {
	if err := m.acquireWait(ctx); err != nil {
		return err
	}
	defer m.release()
	if m.closed {
		return ErrClosed
	}
	if m.released {
		return ErrReleased
	}
	if m.conn != nil {
		if _, err := m.command(ctx, "", m.o.cmdTimeout); err == nil {
			return nil
		}
	}
	return m.climb(ctx, true)
}

// startLadder runs the ladder in the background for an operation that
// found the modem in trouble. The caller holds the turn and hands it to the
// ladder, which gives it back when done; until then operations return
// ErrRecovering.
func (m *Modem) startLadder(cause error) {
	m.recovering.Store(true)
	ctx, cancel := context.WithCancel(m.life)
	m.stopLadder.Store(&cancel)
	m.streak++
	powerCycle := m.streak == 1 || m.streak%powerCycleEvery == 0
	m.o.log.Warn("modem not answering; recovering", "port", m.path, "err", cause, "ladder", m.streak)
	m.ladders.Add(1)
	go func() {
		defer m.ladders.Done()
		err := m.climb(ctx, powerCycle)
		m.stopLadder.Store(nil)
		cancel()
		switch {
		case err == nil:
			m.o.log.Info("modem recovered", "port", m.path)
		case ctx.Err() != nil:
			m.o.log.Info("modem recovery stopped", "port", m.path, "why", context.Cause(ctx))
		default:
			m.o.log.Error("modem recovery failed; the next use tries again", "port", m.path, "err", err)
		}
		m.recovering.Store(false)
		m.release()
		if err == nil {
			m.arrived() // texts may have come while it was away
		}
	}()
}

// climb runs the rungs. Callers hold the turn.
func (m *Modem) climb(ctx context.Context, powerCycle bool) error {
	defer m.stats.step("", m.o.now())
	pause := m.o.backoff

	// 1: re-open.
	m.stats.step(StepReopen, m.o.now())
	m.stats.set(func(s *Stats) { s.Recovery.Reopens++ })
	m.closeConn()
	err := m.open(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		// Gone from the bus: it may be re-enumerating; give it time.
		err = m.awaitModem(ctx)
	}
	if err == nil {
		return m.recovered()
	}
	if err := sleep(ctx, pause); err != nil {
		return err
	}
	pause *= 2

	// 2: reset, when the port opens to take the command.
	if m.conn == nil {
		if rwc, oerr := m.o.openPort(m.path, m.o.baud); oerr == nil {
			m.conn = newConn(rwc, m)
		}
	}
	if m.conn != nil {
		m.stats.step(StepReset, m.o.now())
		m.o.log.Warn("modem: recovering: resetting the modem (AT+CFUN=1,1)", "port", m.path, "after", err)
		m.stats.set(func(s *Stats) { s.Recovery.Resets++ })
		// Many modems drop the port instead of answering: either way, wait
		// for it to come back.
		_, _ = m.command(ctx, "+CFUN=1,1", m.o.cmdTimeout)
		m.closeConn()
		if err = m.awaitModem(ctx); err == nil {
			return m.recovered()
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}

	// 3: power cycle.
	if len(m.o.recoveryCmd) == 0 {
		return m.note(fmt.Errorf("modem: recovery failed (no recovery_command to try): %w", err))
	}
	if !powerCycle {
		return m.note(fmt.Errorf("modem: recovery failed (power cycle skipped: it runs on the 1st and every %dth ladder): %w", powerCycleEvery, err))
	}
	m.stats.step(StepPowerCycle, m.o.now())
	m.o.log.Warn("modem: recovering: running the recovery command", "port", m.path, "command", m.o.recoveryCmd[0], "after", err)
	m.stats.set(func(s *Stats) { s.Recovery.PowerCycles++ })
	m.closeConn()
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
	return m.recovered()
}

func (m *Modem) recovered() error {
	m.streak = 0
	return nil
}

// awaitModem re-opens the port until the modem answers or the come-back
// time ends. A modem that was reset may ask for its PIN again.
func (m *Modem) awaitModem(ctx context.Context) error {
	deadline := time.Now().Add(m.o.comeBack)
	var err error
	for {
		if err = sleep(ctx, m.o.retryEvery); err != nil {
			return err
		}
		m.closeConn()
		if err = m.open(ctx); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("modem did not come back within %s: %w", m.o.comeBack, err)
		}
	}
}
