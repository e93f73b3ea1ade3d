package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
)

var (
	// ErrClosed reports a call on a [Client] that has been closed, or
	// whose reply consumer ended. It matches [conn.ErrClosed].
	ErrClosed = fmt.Errorf("rpc: client closed: %w", conn.ErrClosed)

	// ErrNoReply reports a call whose ctx ended before its reply arrived.
	// The error also matches ctx's error ([conn.ErrTimeout] and
	// [context.DeadlineExceeded] on a deadline, [context.Canceled] on a
	// cancel). A reply that arrives later is dropped.
	ErrNoReply = errors.New("rpc: no reply")

	// ErrReplyLost reports a call whose reply can no longer arrive: the
	// connection was lost while it waited on RabbitMQ's direct reply-to,
	// whose address names the channel the request went out on. The
	// request may or may not have been handled; call again. The error
	// wraps the loss: [conn.ErrChannelClosed], [conn.ErrConnectionLost]
	// or, when the request's own confirmation was lost with the channel,
	// [conn.ErrConfirmLost].
	ErrReplyLost = errors.New("rpc: reply lost")

	// ErrRemote reports a reply that carries an error from the server's
	// handler. The concrete error is a [*RemoteError].
	ErrRemote = errors.New("rpc: remote error")
)

// HeaderError is the application header of an error reply: it holds the
// handler's error text. The body of an error reply is {"error": text},
// serialized like any reply, which is what a Kombu client sees. Kombu
// itself has no RPC error convention; this one is kelp's.
const HeaderError = "x-kelp-error"

// RemoteError is the error a server's handler returned, as the client
// receives it. It matches [ErrRemote].
type RemoteError struct {
	// Message is the handler's error text.
	Message string
}

// Error implements error.
func (e *RemoteError) Error() string { return "rpc: remote error: " + e.Message }

// Is reports whether target is [ErrRemote].
func (e *RemoteError) Is(target error) bool { return target == ErrRemote }

// noReply wraps ctx's end as an [ErrNoReply] error.
func noReply(ctx context.Context, what string) error {
	cause := ctx.Err()
	if errors.Is(cause, context.DeadlineExceeded) {
		cause = conn.ErrTimeout
	}
	return fmt.Errorf("%w %s: %w", ErrNoReply, what, cause)
}
