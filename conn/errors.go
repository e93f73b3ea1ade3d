package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/transports"
)

// The error taxonomy of package conn. Every error a method of this package
// returns matches at least one of these with [errors.Is] and keeps its cause
// reachable through %w wrapping, so transport-level errors
// ([transports.ErrConnLost], a [*transports.Error]) and codec errors still
// match too.
var (
	// ErrConnectionLost reports that the broker connection died while the
	// operation was in flight. The connection reconnects on its own; the
	// operation may be retried (see [Ensure] and [WithRetry]). It also
	// matches [transports.ErrConnLost].
	ErrConnectionLost = errors.New("conn: connection lost")

	// ErrChannelClosed reports that the broker channel the operation ran on
	// closed (often because of a channel-level broker error, which the error
	// also wraps). kelp opens a new channel for the next operation.
	ErrChannelClosed = errors.New("conn: channel closed")

	// ErrNotFound matches any broker error with reply code 404 (a missing
	// exchange or queue), on every transport. It is [transports.ErrNotFound].
	ErrNotFound = transports.ErrNotFound

	// ErrAccessRefused matches any broker error with reply code 403 (refused
	// credentials or permissions, a second exclusive consumer). It is
	// [transports.ErrAccessRefused].
	ErrAccessRefused = transports.ErrAccessRefused

	// ErrPreconditionFailed matches any broker error with reply code 406 (a
	// redeclaration with a different definition, an if-empty delete of a
	// non-empty queue). It is [transports.ErrPreconditionFailed].
	ErrPreconditionFailed = transports.ErrPreconditionFailed

	// ErrContentDisallowed reports a message whose content type the accept
	// list refuses, or one kelp never decodes (pickle, yaml): Kombu's
	// ContentDisallowed. It is [codec.ErrContentDisallowed].
	ErrContentDisallowed = codec.ErrContentDisallowed

	// ErrDecode reports a body that could not be decompressed or
	// deserialized: Kombu's DecodeError. It is [codec.ErrDecode].
	ErrDecode = codec.ErrDecode

	// ErrAlreadySettled reports a second Ack, Nack, Reject or Requeue of
	// the same [Delivery]: Kombu's MessageStateError. The broker is not
	// called a second time.
	ErrAlreadySettled = errors.New("conn: delivery already settled")

	// ErrStaleDelivery reports settling a [Delivery] whose broker channel is
	// gone (a reconnect happened since, which bumped the epoch). Its tag
	// means nothing to the broker now, so kelp does not send it; the broker
	// redelivers the message anyway.
	ErrStaleDelivery = errors.New("conn: stale delivery (its channel is gone)")

	// ErrTimeout reports that the context of a call reached its deadline.
	// It wraps [context.DeadlineExceeded], so either target matches.
	ErrTimeout = fmt.Errorf("conn: timeout: %w", context.DeadlineExceeded)

	// ErrClosed reports a call on a [Connection], [Producer] or [Consumer]
	// that has been closed or stopped.
	ErrClosed = errors.New("conn: closed")

	// ErrNacked reports a publish the broker refused with basic.nack in
	// confirm mode (a full queue with reject-publish, an internal error).
	ErrNacked = errors.New("conn: publish nacked by the broker")

	// ErrReturned reports a mandatory publish the broker could not route.
	// The concrete error is a [*ReturnedError] carrying the reply code and
	// text.
	ErrReturned = errors.New("conn: publish returned unroutable")

	// ErrConfirmLost reports a publish whose confirmation never came
	// because its channel or connection died first: the message may or may
	// not have reached the queue. With a retry policy ([WithRetry]) kelp
	// publishes it again after reconnecting.
	ErrConfirmLost = errors.New("conn: publish confirmation lost")

	// ErrMessageTooLarge reports a body larger than Config.MaxMessageSize:
	// Publish refuses it before sending, and a consumer rejects such a
	// delivery instead of handing it out.
	ErrMessageTooLarge = errors.New("conn: message too large")

	// ErrBlocked is returned by a publish with [WithFailFast] while the
	// broker blocks publishers (a resource alarm) instead of waiting.
	ErrBlocked = errors.New("conn: broker is blocking publishers")

	// ErrEmpty is returned by [Connection.Get] when the queue has no ready
	// message.
	ErrEmpty = errors.New("conn: queue is empty")

	// ErrInvalidOption reports a per-call option with an invalid value.
	ErrInvalidOption = errors.New("conn: invalid option")

	// ErrInvalidConfig reports a [Config] or URL that cannot be used.
	ErrInvalidConfig = errors.New("conn: invalid config")
)

// ReturnedError is the error of a mandatory publish the broker returned as
// unroutable. It matches [ErrReturned].
type ReturnedError struct {
	// ReplyCode is the broker's reason code, normally 312 (NO_ROUTE).
	ReplyCode int
	// ReplyText is the broker's explanation.
	ReplyText string
	// Exchange and RoutingKey are those the message was published with.
	Exchange   string
	RoutingKey string
}

// Error implements error.
func (e *ReturnedError) Error() string {
	return "conn: publish returned unroutable: " + strconv.Itoa(e.ReplyCode) + " " + e.ReplyText +
		" (exchange " + strconv.Quote(e.Exchange) + ", routing key " + strconv.Quote(e.RoutingKey) + ")"
}

// Is reports whether target is [ErrReturned].
func (e *ReturnedError) Is(target error) bool { return target == ErrReturned }

// errClass is what the retry machinery does with an error.
type errClass int

const (
	classPermanent errClass = iota // give up: the same call fails again
	classRetry                     // retry on a new channel of the same connection
	classReconnect                 // retry once the connection is back
)

// classify is the one place that decides whether an error is worth
// retrying, and how. A lost confirm is always retried, whatever ended its
// channel (conn may have closed the channel itself, after its connection
// died, so the cause can read "closed"), and so is a call that found its
// channel closed that way. Otherwise context errors and closed handles
// are permanent; connection loss asks for a reconnect; a
// closed channel and a temporary broker code (313, 320, 405, 506) are
// retried; every other broker code, codec error and invalid option is
// permanent.
func classify(err error) errClass {
	switch {
	case err == nil:
		return classPermanent
	case errors.Is(err, ErrConfirmLost):
		return classRetry
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrClosed), errors.Is(err, transports.ErrUnsupported), errors.Is(err, ErrInvalidOption):
		return classPermanent
	case errors.Is(err, transports.ErrClosed) && !errors.Is(err, ErrChannelClosed):
		// A closed transport handle is permanent, except a broker channel
		// that conn itself closed while a call waited for it (a reconnect
		// tearing the old session down): the next channel will do.
		return classPermanent
	case errors.Is(err, ErrConnectionLost), errors.Is(err, transports.ErrConnLost):
		return classReconnect
	}
	var be *transports.Error
	if errors.As(err, &be) {
		switch {
		case be.ConnectionLevel():
			return classReconnect
		case be.Temporary():
			return classRetry
		}
		return classPermanent
	}
	if errors.Is(err, ErrChannelClosed) || errors.Is(err, transports.ErrChannelClosed) ||
		errors.Is(err, ErrConfirmLost) || errors.Is(err, transports.ErrConsumerCancelled) {
		return classRetry
	}
	return classPermanent
}

// cannotHeal reports whether a failed connection attempt fails the same
// way however often it is retried, so that the first connect of a
// [Connection] gives up at once instead of retrying until its ctx ends: a
// refused login (403) or virtual host (530), a host name the resolver says
// does not exist, and a TLS handshake with a server that does not speak
// TLS or whose certificate does not verify. Reconnects retry these too
// (the broker, the DNS or the certificate may be fixed meanwhile). A
// temporary DNS failure and a timeout are not in the list.
func cannotHeal(err error) bool {
	var dns *net.DNSError
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, ErrAccessRefused), errors.Is(err, transports.ErrNotAllowed):
		return true
	case errors.As(err, &dns):
		return dns.IsNotFound && !dns.IsTemporary && !dns.IsTimeout
	case errors.As(err, &rec), errors.As(err, &cert), errors.As(err, &unknown),
		errors.As(err, &host), errors.As(err, &invalid):
		return true
	}
	return false
}

// wrapErr adds conn's sentinel to a transport error so that callers match
// conn's taxonomy: connection loss gains [ErrConnectionLost] and a closed
// channel [ErrChannelClosed]. Context errors gain [ErrTimeout] on a
// deadline. Other errors are returned as they are.
func wrapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrConnectionLost), errors.Is(err, ErrChannelClosed), errors.Is(err, ErrTimeout):
		return err
	case errors.Is(err, transports.ErrConnLost):
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, transports.ErrChannelClosed):
		return fmt.Errorf("%w: %w", ErrChannelClosed, err)
	}
	return err
}

// ctxErr returns the error for a call whose ctx ended: it matches ctx.Err()
// and its cause, and [ErrTimeout] after a deadline.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return wrapErr(err)
}

// invalidOption returns an [ErrInvalidOption] error.
func invalidOption(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
}
