package carrot

import (
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
)

var (
	// ErrEmpty reports that [Consumer.Fetch] found no message (carrot's
	// fetch returned None). It also matches [conn.ErrEmpty].
	ErrEmpty = fmt.Errorf("carrot: %w", conn.ErrEmpty)

	// ErrNoCallbacks reports [Consumer.Wait] on a consumer without
	// callbacks (carrot raised NotImplementedError).
	ErrNoCallbacks = errors.New("carrot: no consumer callbacks registered")

	// ErrClosed reports a call on a closed [Consumer].
	ErrClosed = errors.New("carrot: consumer closed")

	// ErrInvalidConfig reports a [PublisherConfig] or [ConsumerConfig]
	// that cannot be used. It also matches [conn.ErrInvalidOption].
	ErrInvalidConfig = fmt.Errorf("carrot: invalid config: %w", conn.ErrInvalidOption)
)
