package simple

import (
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
)

var (
	// ErrEmpty reports that no message was available: [Queue.TryGet] found
	// the queue empty, or [Queue.Get] waited until its ctx's deadline
	// (Kombu's SimpleQueue.Empty). The error also wraps its cause, so it
	// matches [conn.ErrEmpty] after TryGet and [context.DeadlineExceeded]
	// (and [conn.ErrTimeout]) after Get.
	ErrEmpty = errors.New("simple: queue is empty")

	// ErrClosed reports a call on a [Queue] after [Queue.Close].
	ErrClosed = errors.New("simple: queue closed")

	// ErrInvalidOption reports an [Option] with an invalid value. It also
	// matches [conn.ErrInvalidOption].
	ErrInvalidOption = fmt.Errorf("simple: %w", conn.ErrInvalidOption)
)

// invalid returns an error matching ErrInvalidOption.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
}
