package pidbox

import (
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
)

var (
	// ErrInvalidConfig reports a [Config] or namespace that cannot be
	// used. It matches [conn.ErrInvalidConfig].
	ErrInvalidConfig = fmt.Errorf("pidbox: invalid config: %w", conn.ErrInvalidConfig)

	// ErrInvalidCall reports call arguments that cannot be sent: no
	// destination for [Mailbox.Call], an empty method, an unknown matcher,
	// arguments that do not serialize as an object. It matches
	// [conn.ErrInvalidOption].
	ErrInvalidCall = fmt.Errorf("pidbox: invalid call: %w", conn.ErrInvalidOption)

	// ErrNoReply reports that some destinations of [Mailbox.Call] did not
	// reply before the reply window closed.
	ErrNoReply = errors.New("pidbox: no reply")

	// ErrClosed reports a call on a closed [Mailbox]. It matches
	// [conn.ErrClosed].
	ErrClosed = fmt.Errorf("pidbox: mailbox closed: %w", conn.ErrClosed)

	// ErrUnknownMethod is the error a [Node] answers a command with when
	// it has no handler for the method.
	ErrUnknownMethod = errors.New("pidbox: unknown method")

	// ErrRemote reports a reply that carries a node's error. The concrete
	// error is a [*RemoteError].
	ErrRemote = errors.New("pidbox: remote error")
)

// RemoteError is a node's error reply, {"error": text}: what a handler's
// error (or a Python handler's exception repr) becomes on the wire. It
// matches [ErrRemote].
type RemoteError struct {
	// Node is the hostname of the node that replied.
	Node string
	// Message is the error text.
	Message string
}

// Error implements error.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("pidbox: node %s: %s", e.Node, e.Message)
}

// Is reports whether target is [ErrRemote].
func (e *RemoteError) Is(target error) bool { return target == ErrRemote }
