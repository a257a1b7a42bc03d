// Package schedule runs a job on a cron schedule (robfig/cron/v3, five
// fields or a descriptor such as "@every 1m"): never two runs of it at
// once, a panic logged and survived, cron's own messages in the log.
package schedule

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"
)

// parser is the parser cron.New uses by default.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse parses spec the way Start does.
func Parse(spec string) (cron.Schedule, error) {
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// Longest is the longest gap between two consecutive runs of spec, over
// the runs that start within window after from (and at least the first
// two): how late a run may be before it is overdue.
func Longest(spec string, from time.Time, window time.Duration) (time.Duration, error) {
	s, err := Parse(spec)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	end := from.Add(window)
	for prev := s.Next(from); !prev.IsZero(); {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		if !next.Before(end) {
			break
		}
		prev = next
	}
	return longest, nil
}

// Schedule is a job running on its schedule until Stop.
type Schedule struct{ c *cron.Cron }

// Start runs job at every time spec names.
func Start(spec string, job func(), log *slog.Logger) (*Schedule, error) {
	if _, err := Parse(spec); err != nil {
		return nil, err
	}
	l := logger{log}
	// SkipIfStillRunning outermost, Recover innermost: in cron v3.0.1 a
	// panic through SkipIfStillRunning would skip the job for ever.
	c := cron.New(cron.WithParser(parser), cron.WithLogger(l), cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)))
	if _, err := c.AddFunc(spec, job); err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	c.Start()
	return &Schedule{c}, nil
}

// Stop stops the schedule and waits for a run in progress to end.
func (s *Schedule) Stop() { <-s.c.Stop().Done() }

// logger puts cron's own messages into slog.
type logger struct{ l *slog.Logger }

func (c logger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c logger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
