package actor

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy configures [Supervise]. The zero value restarts forever with the
// zero [Backoff].
type Policy struct {
	// Backoff computes the delay before each restart.
	Backoff Backoff
	// MaxRestarts bounds the restarts in a row, that is since run last
	// stayed up for StableAfter. Zero means no bound; a negative value
	// means run is never restarted.
	MaxRestarts int
	// StableAfter is how long run must stay up for its next failure to
	// count as the first again (attempt 1, shortest delay). Zero means the
	// Backoff's effective Max; a negative value means never.
	StableAfter time.Duration
	// OnRestart, if set, is called on the supervising goroutine before
	// each restart with the attempt number (1 for the first restart in a
	// row), the error run returned, and the delay about to be slept.
	OnRestart func(attempt int, err error, delay time.Duration)
	// Rand is the source of jitter; nil means the math/rand/v2 global
	// source. Supervise uses it only from its own goroutine, so it must
	// not be shared with concurrent users.
	Rand *rand.Rand
}

// Supervise calls run(ctx) and calls it again each time it returns an
// error, sleeping p.Backoff.Delay between the two calls, until one of:
//   - run returns nil: Supervise returns nil;
//   - run returns an error marked with [Permanent]: Supervise returns it;
//   - p.MaxRestarts restarts in a row have failed: Supervise returns the
//     last error;
//   - ctx ends, during run or during a delay: Supervise returns
//     context.Cause(ctx).
//
// The delays are timers, so under testing/synctest they take no real
// time. Supervise does not recover panics in run; run an [Actor] inside
// run to turn them into errors.
func Supervise(ctx context.Context, p Policy, run func(ctx context.Context) error) error {
	stable := p.StableAfter
	if stable == 0 {
		stable = p.Backoff.withDefaults().Max
	}
	attempt := 0 // restarts in a row so far
	for {
		began := time.Now()
		err := run(ctx)
		switch {
		case err == nil:
			return nil
		case IsPermanent(err):
			return err
		case ctx.Err() != nil:
			return context.Cause(ctx)
		}
		if stable > 0 && time.Since(began) >= stable {
			attempt = 0
		}
		attempt++
		if p.MaxRestarts < 0 || (p.MaxRestarts > 0 && attempt > p.MaxRestarts) {
			return err
		}
		delay := p.Backoff.Delay(attempt-1, p.Rand)
		if p.OnRestart != nil {
			p.OnRestart(attempt, err, delay)
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends, then returning context.Cause(ctx).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// permanentError marks an error that ends supervision.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err so that [Supervise] returns it instead of restarting.
// The result has err's message and matches err with errors.Is and
// errors.As. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
