package virtual

import (
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/transports"
)

// vhost is the virtual host named in reply texts, as RabbitMQ names its
// default one.
const vhost = "/"

// brokerError returns a *transports.Error with a RabbitMQ-style reply text:
// the code's name, " - ", then the formatted detail.
func brokerError(code int, format string, args ...any) *transports.Error {
	return &transports.Error{
		Code:   code,
		Reason: transports.CodeName(code) + " - " + fmt.Sprintf(format, args...),
	}
}

func errNoQueue(name string) *transports.Error {
	return brokerError(404, "no queue '%s' in vhost '%s'", name, vhost)
}

func errNoExchange(name string) *transports.Error {
	return brokerError(404, "no exchange '%s' in vhost '%s'", name, vhost)
}

func errLocked(name string) *transports.Error {
	return brokerError(405, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
		"It could be originally declared on another connection or the exclusive property value "+
		"does not match that of the original declaration.", name, vhost)
}

func errInequivalent(what, name, arg string, got, cur any) *transports.Error {
	return brokerError(406, "inequivalent arg '%s' for %s '%s' in vhost '%s': received '%v' but current is '%v'",
		arg, what, name, vhost, got, cur)
}

func errDefaultExchange() *transports.Error {
	return brokerError(403, "operation not permitted on the default exchange")
}

func errUnknownTag(tag uint64) *transports.Error {
	return brokerError(406, "unknown delivery tag %d", tag)
}

// storeError turns a failure of the Backend into the error a caller sees.
// A context error means the operation may or may not have reached the
// store, so, as the SPI requires, it closes the channel: the error wraps
// both ctx's error and [transports.ErrChannelClosed]. Anything else means
// the store, which is the connection of a virtual transport, failed.
func storeError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("virtual: %s: %w: %w", op, transports.ErrChannelClosed, err)
	}
	return fmt.Errorf("virtual: %s: %w: %w", op, transports.ErrConnLost, err)
}
