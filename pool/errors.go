package pool

import "errors"

var (
	// ErrLimitExceeded reports that every connection of the pool is
	// acquired and the caller asked not to wait ([Pool.TryAcquire]):
	// Kombu's ConnectionLimitExceeded.
	ErrLimitExceeded = errors.New("pool: connection limit exceeded")

	// ErrClosed reports an acquire on a pool that is closing or closed.
	ErrClosed = errors.New("pool: closed")

	// ErrInvalidConfig reports a [Config] that cannot be used.
	ErrInvalidConfig = errors.New("pool: invalid config")
)
