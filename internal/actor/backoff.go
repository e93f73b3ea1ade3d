package actor

import (
	"math"
	"math/rand/v2"
	"time"
)

// Defaults of the zero Backoff.
const (
	DefaultInitial    = 100 * time.Millisecond
	DefaultMax        = 30 * time.Second
	DefaultMultiplier = 2.0
)

// Backoff computes exponential delays with full jitter and a cap. The zero
// value is ready to use. A Backoff holds no state: the caller counts
// attempts.
type Backoff struct {
	// Initial is the ceiling of the first delay (attempt 0). Zero or
	// negative means DefaultInitial (100ms).
	Initial time.Duration
	// Max caps every delay. Zero or negative means DefaultMax (30s).
	Max time.Duration
	// Multiplier is the growth of the ceiling per attempt. Zero means
	// DefaultMultiplier (2); other values below 1 (and NaN) mean 1, a
	// constant ceiling.
	Multiplier float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultMax
	}
	switch {
	case b.Multiplier == 0:
		b.Multiplier = DefaultMultiplier
	case !(b.Multiplier >= 1):
		b.Multiplier = 1
	}
	return b
}

// Cap returns the ceiling of the delay before retry number attempt
// (counted from 0): min(Max, Initial*Multiplier^attempt), without jitter.
// A negative attempt counts as 0. It never overflows, whatever attempt is.
func (b Backoff) Cap(attempt int) time.Duration {
	b = b.withDefaults()
	if attempt < 0 {
		attempt = 0
	}
	c := float64(b.Initial) * math.Pow(b.Multiplier, float64(attempt))
	// The comparison also catches +Inf; c is never NaN here.
	if c >= float64(b.Max) {
		return b.Max
	}
	return time.Duration(c)
}

// Delay returns the delay before retry number attempt (counted from 0),
// drawn uniformly from [0, Cap(attempt)] ("full jitter", which spreads out
// clients that failed together). r is the random source; nil means the
// math/rand/v2 global source, which is safe for concurrent use, while a
// *rand.Rand is not.
func (b Backoff) Delay(attempt int, r *rand.Rand) time.Duration {
	n := uint64(b.Cap(attempt)) + 1 // Cap >= 0, so n <= MaxInt64+1 fits
	if r == nil {
		return time.Duration(rand.Uint64N(n))
	}
	return time.Duration(r.Uint64N(n))
}
