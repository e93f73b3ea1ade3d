package amqp

import (
	"errors"
	"fmt"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// Errors of this package. Broker and connection failures use the SPI's
// signals instead (see the package documentation).
var (
	// ErrInvalidConfig wraps every problem [Config.Validate] finds. Errors
	// from [ParseURL] wrap it and [transports.ErrInvalidURL].
	ErrInvalidConfig = errors.New("amqp: invalid config")

	// ErrInvalidArgument wraps errors about values the AMQP wire cannot
	// carry: a header or argument of a type with no AMQP field type, an
	// unsigned integer above math.MaxInt64, a prefetch count above 65535.
	// Nothing was sent and the Channel stays open.
	ErrInvalidArgument = errors.New("amqp: invalid argument")
)

// brokerError converts an amqp091 error to the SPI's vocabulary:
//
//   - a broker reply (Server true) becomes a *transports.Error with its code
//     and reason, also wrapping [transports.ErrConnLost] when the code is a
//     connection-level one;
//   - a local I/O failure (amqp091 reports it as a FRAME_ERROR that the
//     server did not send) becomes [transports.ErrConnLost];
//   - amqp091's ErrChannelMax becomes 530 NOT_ALLOWED, as the SPI asks;
//   - other local amqp091 errors keep their code as a *transports.Error;
//   - anything else (a net.Error from a write) is a lost connection.
//
// amqp091.ErrClosed is not handled here: callers replace it with the
// Channel's or Conn's own error, which knows why it closed.
func brokerError(err error) error {
	if err == nil {
		return nil
	}
	var e *amqp091.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%w: %w", transports.ErrConnLost, err)
	}
	switch {
	case e.Server:
		te := &transports.Error{Code: e.Code, Reason: e.Reason, Err: e}
		if te.ConnectionLevel() {
			return fmt.Errorf("%w: %w", transports.ErrConnLost, te)
		}
		return te
	case e == amqp091.ErrChannelMax:
		return &transports.Error{Code: transports.ErrNotAllowed.Code, Reason: e.Reason, Err: e}
	case e.Code == amqp091.FrameError:
		return fmt.Errorf("%w: %s", transports.ErrConnLost, e.Reason)
	}
	return &transports.Error{Code: e.Code, Reason: e.Reason, Err: e}
}

// isClosedErr reports whether err is amqp091's "channel/connection is not
// open", which says nothing about why.
func isClosedErr(err error) bool {
	return errors.Is(err, amqp091.ErrClosed)
}

// connectionLevel reports whether an amqp091 close reason takes the whole
// connection down: a connection-level reply code from the broker, or a local
// failure (I/O, framing) that amqp091 reports with a connection-level code.
func connectionLevel(e *amqp091.Error) bool {
	te := transports.Error{Code: e.Code}
	return te.ConnectionLevel() || (!e.Server && e.Code == amqp091.FrameError)
}
