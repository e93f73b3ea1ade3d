package actor_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kelpmq/kelp/internal/actor"
)

func TestBackoffCap(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name    string
		b       actor.Backoff
		attempt int
		want    time.Duration
	}{
		{"zero value, attempt 0", actor.Backoff{}, 0, 100 * ms},
		{"zero value, attempt 1", actor.Backoff{}, 1, 200 * ms},
		{"zero value, attempt 8", actor.Backoff{}, 8, 25600 * ms},
		{"zero value, capped", actor.Backoff{}, 9, 30 * time.Second},
		{"negative attempt", actor.Backoff{}, -5, 100 * ms},
		{"huge attempt", actor.Backoff{}, 1 << 40, 30 * time.Second},
		{"max int attempt", actor.Backoff{}, math.MaxInt, 30 * time.Second},
		{"max int attempt, max duration cap", actor.Backoff{Max: math.MaxInt64}, math.MaxInt, math.MaxInt64},
		{"multiplier 1.5", actor.Backoff{Initial: time.Second, Multiplier: 1.5}, 2, 2250 * ms},
		{"multiplier 1 is constant", actor.Backoff{Initial: time.Second, Multiplier: 1}, 50, time.Second},
		{"multiplier below 1 is constant", actor.Backoff{Initial: time.Second, Multiplier: 0.5}, 3, time.Second},
		{"negative multiplier is constant", actor.Backoff{Initial: time.Second, Multiplier: -2}, 3, time.Second},
		{"NaN multiplier is constant", actor.Backoff{Initial: time.Second, Multiplier: math.NaN()}, 3, time.Second},
		{"infinite multiplier", actor.Backoff{Multiplier: math.Inf(1)}, 1, 30 * time.Second},
		{"initial above max", actor.Backoff{Initial: time.Minute, Max: time.Second}, 0, time.Second},
		{"custom max", actor.Backoff{Initial: ms, Max: 10 * ms}, 3, 8 * ms},
		{"custom max reached", actor.Backoff{Initial: ms, Max: 10 * ms}, 4, 10 * ms},
		{"negative fields use defaults", actor.Backoff{Initial: -1, Max: -1}, 1, 200 * ms},
	} {
		if got := tc.b.Cap(tc.attempt); got != tc.want {
			t.Errorf("%s: Cap(%d) = %v, want %v", tc.name, tc.attempt, got, tc.want)
		}
	}
}

func TestBackoffDelayWithinCap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, b := range []actor.Backoff{
		{},
		{Initial: time.Nanosecond, Max: 3 * time.Nanosecond},
		{Max: math.MaxInt64},
	} {
		for attempt := range 70 {
			c := b.Cap(attempt)
			for range 50 {
				if d := b.Delay(attempt, r); d < 0 || d > c {
					t.Fatalf("%+v: Delay(%d) = %v, outside [0, %v]", b, attempt, d, c)
				}
			}
			if d := b.Delay(attempt, nil); d < 0 || d > c {
				t.Fatalf("%+v: Delay(%d, nil) = %v, outside [0, %v]", b, attempt, d, c)
			}
		}
	}
}

func TestBackoffDelaySeeded(t *testing.T) {
	var b actor.Backoff
	r1, r2 := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	same := true
	var first []time.Duration
	for attempt := range 20 {
		d1, d2 := b.Delay(attempt, r1), b.Delay(attempt, r2)
		same = same && d1 == d2
		first = append(first, d1)
	}
	if !same {
		t.Error("two sources with the same seed gave different delays")
	}
	r3 := rand.New(rand.NewPCG(8, 8))
	differ := false
	for attempt, d := range first {
		differ = differ || b.Delay(attempt, r3) != d
	}
	if !differ {
		t.Error("a different seed gave the same delays")
	}
}

// TestBackoffFullJitter checks that delays spread uniformly over the whole
// [0, Cap] range rather than around the cap.
func TestBackoffFullJitter(t *testing.T) {
	const (
		draws   = 20000
		buckets = 10
	)
	b := actor.Backoff{Initial: time.Second, Max: time.Minute}
	r := rand.New(rand.NewPCG(3, 4))
	for _, attempt := range []int{0, 3, 20} {
		c := b.Cap(attempt)
		var counts [buckets]int
		var sum, lo, hi float64 = 0, math.Inf(1), 0
		for range draws {
			d := float64(b.Delay(attempt, r))
			sum += d
			lo, hi = min(lo, d), max(hi, d)
			counts[min(int(d/float64(c)*buckets), buckets-1)]++
		}
		if mean := sum / draws / float64(c); math.Abs(mean-0.5) > 0.02 {
			t.Errorf("attempt %d: mean delay = %.3f of the cap, want about 0.5", attempt, mean)
		}
		if lo > 0.001*float64(c) || hi < 0.999*float64(c) {
			t.Errorf("attempt %d: delays span [%v, %v], want nearly [0, %v]", attempt, time.Duration(lo), time.Duration(hi), c)
		}
		// Chi-square against uniform, 9 degrees of freedom: 27.9 is the
		// 0.1% critical value. The seed is fixed, so this cannot flake.
		chi2 := 0.0
		for _, n := range counts {
			e := float64(draws) / buckets
			chi2 += (float64(n) - e) * (float64(n) - e) / e
		}
		if chi2 > 27.9 {
			t.Errorf("attempt %d: bucket counts %v are not uniform (chi2 = %.1f)", attempt, counts, chi2)
		}
	}
}
