package conn

import "time"

// RetryPolicy says how [Connection.Ensure] and a publish with [WithRetry]
// retry an operation that failed with a retryable error (connection lost,
// channel closed, confirm lost, a temporary broker error), following
// Kombu's retry_policy. The zero value is Kombu's default publish policy:
// three retries, the first at once, then 1s apart.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first try. Zero means
	// 3; a negative value retries until the ctx ends.
	MaxRetries int
	// IntervalStart is the delay before the first retry. Zero means none.
	IntervalStart time.Duration
	// IntervalStep is added to the delay after each retry. Zero means 1s;
	// a negative value keeps the delay at IntervalStart.
	IntervalStep time.Duration
	// IntervalMax caps the delay. Zero means 1s.
	IntervalMax time.Duration
	// OnRetry, if set, is called before each retry with the error, the
	// retry number (from 1) and the delay about to be waited. It runs on
	// the caller's goroutine.
	OnRetry func(err error, retry int, delay time.Duration)
}

// maxRetries returns the retry bound, or -1 for unbounded.
func (p RetryPolicy) maxRetries() int {
	switch {
	case p.MaxRetries == 0:
		return 3
	case p.MaxRetries < 0:
		return -1
	}
	return p.MaxRetries
}

// interval returns the delay before retry number n (from 1).
func (p RetryPolicy) interval(n int) time.Duration {
	step, maxDelay := p.IntervalStep, p.IntervalMax
	if step == 0 {
		step = time.Second
	}
	if step < 0 {
		step = 0
	}
	if maxDelay == 0 {
		maxDelay = time.Second
	}
	d := p.IntervalStart
	for i := 1; i < n && d < maxDelay; i++ {
		d += step
	}
	return min(d, max(maxDelay, p.IntervalStart))
}
