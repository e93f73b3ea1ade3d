package transports

import (
	"errors"
	"fmt"
	"strconv"
)

// SPI signals. Drivers return these, wrapped with %w and with context, under
// the rules in the package documentation; package conn reacts to each by rule.
var (
	// ErrConnLost means the connection is dead and every channel on it with
	// it. Return it (wrapping the cause) whenever I/O on the connection
	// fails, the broker closes it, or a heartbeat is missed. conn reconnects.
	ErrConnLost = errors.New("transports: connection lost")

	// ErrChannelClosed means this channel can no longer be used; the
	// connection may be fine. Return it (wrapping the broker's [*Error] if
	// there was one) for any call on a closed channel. conn opens a new one.
	ErrChannelClosed = errors.New("transports: channel closed")

	// ErrClosed is the Err of a Conn or Channel that was closed on purpose
	// with Close, and the error of calls made after that.
	ErrClosed = errors.New("transports: closed")

	// ErrUnsupported means the transport cannot do what was asked at all
	// (an exchange kind it does not emulate, a missing capability). It
	// wraps errors.ErrUnsupported. conn never retries it.
	ErrUnsupported = fmt.Errorf("transports: %w", errors.ErrUnsupported)

	// ErrConsumerCancelled is the Err of a [Subscription] the broker ended
	// on its own, for example because its queue was deleted.
	ErrConsumerCancelled = errors.New("transports: consumer cancelled by the broker")

	// ErrInvalidURL wraps every URL and option parsing error of
	// [Driver.OpenConnector] and [OpenConnector].
	ErrInvalidURL = errors.New("transports: invalid URL")

	// ErrUnknownScheme is returned by [Lookup] and [OpenConnector] for a
	// scheme no driver registered.
	ErrUnknownScheme = errors.New("transports: unknown URL scheme")
)

// Error is an error reported by the broker, carrying an AMQP 0-9-1 reply
// code. Every driver maps its failures onto these codes, so users see the
// same errors whatever the transport.
//
// Errors match by code: errors.Is(err, target) is true when target is an
// *Error with the same Code, so errors.Is(err, [ErrNotFound]) works for every
// 404 whatever its Reason. Use errors.As to read the Reason.
type Error struct {
	// Code is the AMQP reply code, such as 404.
	Code int
	// Reason is the broker's reply text, such as
	// "NOT_FOUND - no queue 'q' in vhost '/'".
	Reason string
	// Err is an underlying error, if any (the client library's error).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	name := CodeName(e.Code)
	s := "transports: broker error " + strconv.Itoa(e.Code)
	if name != "" {
		s += " " + name
	}
	if e.Reason != "" && e.Reason != name {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code != 0 && t.Code == e.Code
}

// ConnectionLevel reports whether the code closes the whole connection (AMQP
// "hard" errors: 320, 402 and the 5xx codes) rather than only the channel.
func (e *Error) ConnectionLevel() bool {
	return e.Code == 320 || e.Code == 402 || e.Code >= 500
}

// Temporary reports whether retrying the same operation later may succeed
// without anything else changing: 311 content too large and the 4xx
// codes are permanent; 313 no consumers, 320 connection forced, 405
// resource locked and 506 resource error are temporary.
func (e *Error) Temporary() bool {
	switch e.Code {
	case 313, 320, 405, 506:
		return true
	}
	return false
}

// NewError returns an *Error with the given code and reason.
func NewError(code int, reason string) *Error { return &Error{Code: code, Reason: reason} }

// Targets for errors.Is, one per AMQP 0-9-1 reply code. They match any
// *Error with the same code.
var (
	ErrContentTooLarge    = &Error{Code: 311, Reason: "CONTENT_TOO_LARGE"}
	ErrNoRoute            = &Error{Code: 312, Reason: "NO_ROUTE"}
	ErrNoConsumers        = &Error{Code: 313, Reason: "NO_CONSUMERS"}
	ErrConnectionForced   = &Error{Code: 320, Reason: "CONNECTION_FORCED"}
	ErrInvalidPath        = &Error{Code: 402, Reason: "INVALID_PATH"}
	ErrAccessRefused      = &Error{Code: 403, Reason: "ACCESS_REFUSED"}
	ErrNotFound           = &Error{Code: 404, Reason: "NOT_FOUND"}
	ErrResourceLocked     = &Error{Code: 405, Reason: "RESOURCE_LOCKED"}
	ErrPreconditionFailed = &Error{Code: 406, Reason: "PRECONDITION_FAILED"}
	ErrFrameError         = &Error{Code: 501, Reason: "FRAME_ERROR"}
	ErrSyntaxError        = &Error{Code: 502, Reason: "SYNTAX_ERROR"}
	ErrCommandInvalid     = &Error{Code: 503, Reason: "COMMAND_INVALID"}
	ErrChannelError       = &Error{Code: 504, Reason: "CHANNEL_ERROR"}
	ErrUnexpectedFrame    = &Error{Code: 505, Reason: "UNEXPECTED_FRAME"}
	ErrResourceError      = &Error{Code: 506, Reason: "RESOURCE_ERROR"}
	ErrNotAllowed         = &Error{Code: 530, Reason: "NOT_ALLOWED"}
	ErrNotImplemented     = &Error{Code: 540, Reason: "NOT_IMPLEMENTED"}
	ErrInternalError      = &Error{Code: 541, Reason: "INTERNAL_ERROR"}
)

var codeNames = map[int]string{}

func init() {
	for _, e := range []*Error{ErrContentTooLarge, ErrNoRoute, ErrNoConsumers, ErrConnectionForced,
		ErrInvalidPath, ErrAccessRefused, ErrNotFound, ErrResourceLocked, ErrPreconditionFailed,
		ErrFrameError, ErrSyntaxError, ErrCommandInvalid, ErrChannelError, ErrUnexpectedFrame,
		ErrResourceError, ErrNotAllowed, ErrNotImplemented, ErrInternalError} {
		codeNames[e.Code] = e.Reason
	}
}

// CodeName returns the AMQP constant name of a reply code ("NOT_FOUND" for
// 404), or "" for a code AMQP 0-9-1 does not define.
func CodeName(code int) string { return codeNames[code] }
