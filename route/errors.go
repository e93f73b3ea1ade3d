package route

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package makes matches at least one of
// them with [errors.Is] and says which entity and field is wrong. (Decoding
// also passes on encoding/json's own syntax and type errors.)
var (
	// ErrUnknownKind reports an exchange kind other than direct, topic,
	// fanout and headers.
	ErrUnknownKind = errors.New("route: unknown exchange kind")

	// ErrInvalidDeliveryMode reports a delivery mode other than 1
	// (transient) and 2 (persistent).
	ErrInvalidDeliveryMode = errors.New("route: invalid delivery mode")

	// ErrInvalidDuration reports a duration that cannot be decoded, or one
	// that RabbitMQ cannot represent (negative, or finer than a millisecond).
	ErrInvalidDuration = errors.New("route: invalid duration")

	// ErrInvalidExchange reports an [Exchange] that fails [Exchange.Validate].
	ErrInvalidExchange = errors.New("route: invalid exchange")

	// ErrInvalidQueue reports a [Queue] that fails [Queue.Validate].
	ErrInvalidQueue = errors.New("route: invalid queue")

	// ErrInvalidBinding reports a [Binding] that fails [Binding.Validate].
	ErrInvalidBinding = errors.New("route: invalid binding")

	// ErrInvalidArgument reports a recognised x-argument (x-message-ttl,
	// x-overflow, ...) whose value has the wrong type or is out of range.
	ErrInvalidArgument = errors.New("route: invalid argument")

	// ErrArgumentConflict reports a queue that sets the same property twice
	// with different values: once as a field and once as an x-argument.
	ErrArgumentConflict = errors.New("route: argument conflicts with field")

	// ErrInvalidMatch reports a headers binding whose x-match argument is not
	// one of all, any, all-with-x and any-with-x, or is not a string.
	ErrInvalidMatch = errors.New("route: invalid x-match")
)

// detailError is an error with its own text that matches several sentinels,
// so that a message reads once ("route: invalid queue "q": ...") and still
// satisfies errors.Is for both the entity and the cause.
type detailError struct {
	msg  string
	errs []error
}

func (e *detailError) Error() string   { return e.msg }
func (e *detailError) Unwrap() []error { return e.errs }

// newError formats msg and makes the result match every error in is.
func newError(is []error, format string, args ...any) error {
	return &detailError{msg: fmt.Sprintf(format, args...), errs: is}
}

// entityError wraps cause (whose text is kept) as a problem of the named
// entity, matching both sentinel and everything cause matches.
func entityError(sentinel error, name string, cause error) error {
	return &detailError{
		msg:  fmt.Sprintf("%v %q: %s", sentinel, name, trimPrefix(cause.Error())),
		errs: []error{sentinel, cause},
	}
}

// trimPrefix drops the package prefix from a nested message so that it is
// said once per line of text.
func trimPrefix(s string) string {
	const p = "route: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// invalidf reports a problem of the named entity: entity is
// ErrInvalidExchange, ErrInvalidQueue or ErrInvalidBinding; cause, when not
// nil, is a second sentinel the error also matches.
func invalidf(entity error, name string, cause error, format string, args ...any) error {
	is := []error{entity}
	if cause != nil {
		is = append(is, cause)
	}
	return &detailError{
		msg:  fmt.Sprintf("%v %q: ", entity, name) + fmt.Sprintf(format, args...),
		errs: is,
	}
}
