package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/internal/actor"
)

// restart is one OnRestart call.
type restart struct {
	attempt int
	err     error
	delay   time.Duration
}

func TestSuperviseRestartTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const failures = 12
		b := actor.Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second, Multiplier: 3}
		var restarts []restart
		p := actor.Policy{
			Backoff:   b,
			Rand:      rand.New(rand.NewPCG(9, 9)),
			OnRestart: func(n int, err error, d time.Duration) { restarts = append(restarts, restart{n, err, d}) },
		}
		var starts []time.Time
		err := actor.Supervise(t.Context(), p, func(context.Context) error {
			starts = append(starts, time.Now())
			if len(starts) > failures {
				return nil
			}
			return fmt.Errorf("failure %d", len(starts))
		})
		if err != nil {
			t.Fatalf("Supervise = %v, want nil once run succeeds", err)
		}
		if len(starts) != failures+1 || len(restarts) != failures {
			t.Fatalf("%d runs and %d restarts, want %d and %d", len(starts), len(restarts), failures+1, failures)
		}
		// The same seed replays the delays Supervise drew.
		r := rand.New(rand.NewPCG(9, 9))
		for i, got := range restarts {
			want := restart{i + 1, fmt.Errorf("failure %d", i+1), b.Delay(i, r)}
			if got.attempt != want.attempt || got.err.Error() != want.err.Error() || got.delay != want.delay {
				t.Errorf("restart %d = %+v, want %+v", i, got, want)
			}
			if got.delay > b.Cap(i) {
				t.Errorf("restart %d slept %v, above the cap %v", i, got.delay, b.Cap(i))
			}
			if gap := starts[i+1].Sub(starts[i]); gap != got.delay {
				t.Errorf("run %d started %v after run %d, want the delay %v", i+1, gap, i, got.delay)
			}
		}
	})
}

func TestSuperviseStableRunResetsAttempts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stableAfter time.Duration
		// uptimes is how long each run stays up before failing.
		uptimes      []time.Duration
		wantAttempts []int
	}{
		{
			name:         "stable run resets",
			stableAfter:  5 * time.Second,
			uptimes:      []time.Duration{0, 0, 5 * time.Second, 0, 4 * time.Second},
			wantAttempts: []int{1, 2, 1, 2, 3},
		},
		{
			name:         "zero means the backoff max",
			uptimes:      []time.Duration{0, 0, 29 * time.Second, 30 * time.Second, 0},
			wantAttempts: []int{1, 2, 3, 1, 2},
		},
		{
			name:         "negative never resets",
			stableAfter:  -1,
			uptimes:      []time.Duration{0, time.Hour, 0},
			wantAttempts: []int{1, 2, 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var attempts []int
				p := actor.Policy{
					StableAfter: tc.stableAfter,
					OnRestart:   func(n int, _ error, _ time.Duration) { attempts = append(attempts, n) },
				}
				runs := 0
				err := actor.Supervise(t.Context(), p, func(context.Context) error {
					if runs == len(tc.uptimes) {
						return nil
					}
					time.Sleep(tc.uptimes[runs])
					runs++
					return errBoom
				})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(attempts) != fmt.Sprint(tc.wantAttempts) {
					t.Errorf("attempts = %v, want %v", attempts, tc.wantAttempts)
				}
			})
		})
	}
}

func TestSuperviseStops(t *testing.T) {
	errLast := errors.New("last")
	for _, tc := range []struct {
		name        string
		maxRestarts int
		fail        func(run int) error // the error of run number run (from 1)
		wantRuns    int
		wantErr     error
		wantPerm    bool
	}{
		{"nil ends supervision", 0, func(int) error { return nil }, 1, nil, false},
		{"permanent error", 0, func(n int) error {
			if n == 3 {
				return actor.Permanent(errLast)
			}
			return errBoom
		}, 3, errLast, true},
		{"wrapped permanent error", 0, func(n int) error {
			return fmt.Errorf("dial: %w", actor.Permanent(errLast))
		}, 1, errLast, true},
		{"max restarts", 3, func(n int) error {
			if n == 4 {
				return errLast
			}
			return errBoom
		}, 4, errLast, false},
		{"negative max restarts", -1, func(int) error { return errLast }, 1, errLast, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				runs := 0
				err := actor.Supervise(t.Context(), actor.Policy{MaxRestarts: tc.maxRestarts}, func(context.Context) error {
					runs++
					if runs > 10 {
						return actor.Permanent(errors.New("too many runs"))
					}
					return tc.fail(runs)
				})
				if runs != tc.wantRuns {
					t.Errorf("%d runs, want %d", runs, tc.wantRuns)
				}
				if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Errorf("Supervise = %v, want %v", err, tc.wantErr)
				}
				if actor.IsPermanent(err) != tc.wantPerm {
					t.Errorf("IsPermanent(%v) = %v, want %v", err, !tc.wantPerm, tc.wantPerm)
				}
			})
		})
	}
}

func TestSuperviseContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run fails at once, or, with block, waits for its ctx.
		block bool
	}{
		{"during the delay", false},
		{"during run", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(t.Context())
				const after = 90 * time.Millisecond
				time.AfterFunc(after, func() { cancel(errBoom) })
				p := actor.Policy{
					Backoff: actor.Backoff{Initial: time.Hour, Max: time.Hour},
					Rand:    rand.New(rand.NewPCG(5, 5)),
					OnRestart: func(_ int, _ error, d time.Duration) {
						if d <= after {
							t.Fatalf("the seed drew a delay of %v, too short for this test", d)
						}
					},
				}
				start := time.Now()
				runs := 0
				err := actor.Supervise(ctx, p, func(ctx context.Context) error {
					runs++
					if tc.block {
						<-ctx.Done()
						return ctx.Err()
					}
					return errors.New("dial failed")
				})
				if err != errBoom {
					t.Errorf("Supervise = %v, want the cause %v", err, errBoom)
				}
				if took := time.Since(start); took != after || runs != 1 {
					t.Errorf("Supervise returned after %v and %d runs, want %v and 1", took, runs, after)
				}
			})
		})
	}
}

func TestPermanent(t *testing.T) {
	if actor.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	err := actor.Permanent(errBoom)
	if err.Error() != errBoom.Error() || !errors.Is(err, errBoom) || !actor.IsPermanent(err) {
		t.Errorf("Permanent(%v) = %q: Is %v, IsPermanent %v", errBoom, err, errors.Is(err, errBoom), actor.IsPermanent(err))
	}
	if actor.IsPermanent(errBoom) || actor.IsPermanent(nil) {
		t.Error("IsPermanent true for an unmarked error")
	}
}

// TestSuperviseActor supervises an actor whose run loop panics: the panic
// becomes an error and the actor is started afresh.
func TestSuperviseActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errs []error
		p := actor.Policy{OnRestart: func(_ int, err error, _ time.Duration) { errs = append(errs, err) }}
		lives := 0
		err := actor.Supervise(t.Context(), p, func(ctx context.Context) error {
			lives++
			a := actor.New(0)
			a.Start(ctx, func(ctx context.Context) error {
				if lives < 3 {
					panic("lost the socket")
				}
				return a.Serve(ctx)
			})
			if lives == 3 {
				if err := a.Do(ctx, func() {}); err != nil {
					return err
				}
				a.Stop(nil)
			}
			return a.Wait()
		})
		if err != nil || lives != 3 {
			t.Fatalf("Supervise = %v after %d lives, want nil after 3", err, lives)
		}
		if len(errs) != 2 || !errors.Is(errs[0], actor.ErrPanic) || !errors.Is(errs[1], actor.ErrPanic) {
			t.Errorf("restart errors = %v, want two panics", errs)
		}
	})
}
