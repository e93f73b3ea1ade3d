package codec

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package matches one of them
// with [errors.Is]; most also carry the underlying cause (a JSON syntax error,
// a corrupt zlib stream) through %w wrapping.
var (
	// ErrContentDisallowed reports a body whose content type the accept list
	// refuses, or one kelp never decodes (pickle, yaml). The concrete error
	// is a [*DisallowedError]. It is Kombu's ContentDisallowed: the consumer
	// should reject the message, not retry it.
	ErrContentDisallowed = errors.New("codec: content disallowed")

	// ErrUnknownSerializer reports a serializer name or content type that is
	// not registered.
	ErrUnknownSerializer = errors.New("codec: unknown serializer")

	// ErrUnknownCompression reports a compressor name or `compression` header
	// value that is not registered.
	ErrUnknownCompression = errors.New("codec: unknown compression")

	// ErrDecode reports a body that could not be deserialized, or compressed
	// data that could not be decompressed (corrupt, truncated, wrong format).
	// It is Kombu's DecodeError.
	ErrDecode = errors.New("codec: decode error")

	// ErrEncode reports a value the serializer cannot represent, or a
	// compressor failure. It is Kombu's EncodeError.
	ErrEncode = errors.New("codec: encode error")

	// ErrTooLarge reports decompressed output that would exceed the limit
	// given to [Registry.Decompress] or [Compressor.Decompress].
	ErrTooLarge = errors.New("codec: decompressed size exceeds limit")

	// ErrUnsupported reports an operation a codec cannot perform, such as
	// bzip2 compression. It wraps [errors.ErrUnsupported].
	ErrUnsupported = fmt.Errorf("codec: %w", errors.ErrUnsupported)

	// ErrInvalidCodec reports a registration that cannot be accepted (a nil
	// codec, an empty name, a content type without a slash, an alias that
	// looks like a content type) or a compression level out of range.
	ErrInvalidCodec = errors.New("codec: invalid codec registration")
)

// DisallowedError is the concrete error behind [ErrContentDisallowed]. Its
// message follows Kombu's:
//
//	codec: refusing to deserialize untrusted content of type json (application/json)
//	codec: refusing to deserialize content of type pickle (application/x-python-serialize): kelp never decodes pickle
type DisallowedError struct {
	// Name is the registered serializer name for ContentType, or "" when
	// the content type is not registered.
	Name string
	// ContentType is the refused content type, normalized.
	ContentType string
	// Reason is "untrusted" when the accept list refused the type, or a
	// sentence explaining why the serializer refuses to decode at all.
	Reason string
}

// Error implements error.
func (e *DisallowedError) Error() string {
	what := e.ContentType
	if e.Name != "" && e.Name != e.ContentType {
		what = e.Name + " (" + e.ContentType + ")"
	}
	if e.Reason == reasonUntrusted {
		return "codec: refusing to deserialize untrusted content of type " + what
	}
	return "codec: refusing to deserialize content of type " + what + ": " + e.Reason
}

// Unwrap returns [ErrContentDisallowed].
func (e *DisallowedError) Unwrap() error { return ErrContentDisallowed }

// reasonUntrusted is the [DisallowedError.Reason] used for accept-list refusals.
const reasonUntrusted = "untrusted"

// decodeErr wraps err (which may be nil) as an [ErrDecode] about what.
func decodeErr(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrDecode, what)
	}
	if errors.Is(err, ErrDecode) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrContentDisallowed) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrDecode, what, err)
}

// encodeErr wraps err (which may be nil) as an [ErrEncode] about what.
func encodeErr(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrEncode, what)
	}
	if errors.Is(err, ErrEncode) || errors.Is(err, ErrUnsupported) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrEncode, what, err)
}
