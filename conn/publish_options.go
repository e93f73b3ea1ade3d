package conn

import (
	"maps"
	"strconv"
	"time"

	"github.com/kelpmq/kelp/route"
)

// PublishOption is a per-publish setting of [Producer.Publish] (or a
// default of a [Producer]). Options validate their values: Publish fails
// with an error matching [ErrInvalidOption] when one is invalid.
type PublishOption func(*publishOptions) error

// publishOptions are the collected settings of one publish.
type publishOptions struct {
	exchange    string
	routingKey  string
	mandatory   bool
	headers     route.Table
	props       Properties
	serializer  string
	compression string
	contentType string // set: the body is already serialized
	declare     []Entity
	retry       *RetryPolicy
	failFast    bool
}

// apply returns o with opts applied, o itself unchanged (headers and
// declarations are copied before being extended).
func (o publishOptions) apply(opts []PublishOption) (publishOptions, error) {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithExchange publishes to the named exchange. The default is "", the
// default exchange, which routes to the queue named by the routing key.
func WithExchange(name string) PublishOption {
	return func(o *publishOptions) error {
		if len(name) > 255 {
			return invalidOption("exchange name is %d bytes long, the limit is 255", len(name))
		}
		o.exchange = name
		return nil
	}
}

// WithRoutingKey sets the routing key (for the default exchange, the queue
// name). The default is "".
func WithRoutingKey(key string) PublishOption {
	return func(o *publishOptions) error {
		if len(key) > 255 {
			return invalidOption("routing key is %d bytes long, the limit is 255", len(key))
		}
		o.routingKey = key
		return nil
	}
}

// WithHeaders adds application headers; later options override earlier
// keys. The table is copied. The header "compression" is reserved: use
// [WithCompression].
func WithHeaders(h route.Table) PublishOption {
	return func(o *publishOptions) error {
		if _, ok := h[compressionHeader]; ok {
			return invalidOption("the %q header is set by WithCompression", compressionHeader)
		}
		m := make(route.Table, len(o.headers)+len(h))
		maps.Copy(m, o.headers)
		maps.Copy(m, h.Clone())
		o.headers = m
		return nil
	}
}

// WithPriority sets the message priority, 0 to 255 (queues declared with
// MaxPriority clamp it further). The default is 0, always sent, as Kombu
// does.
func WithPriority(p int) PublishOption {
	return func(o *publishOptions) error {
		if p < 0 || p > 255 {
			return invalidOption("priority %d is outside 0..255", p)
		}
		o.props.Priority = uint8(p)
		return nil
	}
}

// WithExpiration sets the per-message TTL, sent as a string of whole
// milliseconds (Kombu's format; finer parts are truncated). It must not be
// negative.
func WithExpiration(ttl time.Duration) PublishOption {
	return func(o *publishOptions) error {
		if ttl < 0 {
			return invalidOption("negative expiration %v", ttl)
		}
		o.props.Expiration = strconv.FormatInt(ttl.Milliseconds(), 10)
		return nil
	}
}

// WithDeliveryMode sets [route.Transient] or [route.Persistent]. The
// default is persistent, always sent, as Kombu does.
func WithDeliveryMode(m route.DeliveryMode) PublishOption {
	return func(o *publishOptions) error {
		if !m.Valid() {
			return invalidOption("delivery mode %d is neither 1 (transient) nor 2 (persistent)", m)
		}
		o.props.DeliveryMode = m
		return nil
	}
}

// WithCorrelationID sets the correlation id property.
func WithCorrelationID(id string) PublishOption {
	return func(o *publishOptions) error { o.props.CorrelationID = id; return nil }
}

// WithReplyTo sets the reply-to property.
func WithReplyTo(queue string) PublishOption {
	return func(o *publishOptions) error { o.props.ReplyTo = queue; return nil }
}

// WithMessageID sets the message id property. kelp does not generate one.
func WithMessageID(id string) PublishOption {
	return func(o *publishOptions) error { o.props.MessageID = id; return nil }
}

// WithType sets the message type property.
func WithType(t string) PublishOption {
	return func(o *publishOptions) error { o.props.Type = t; return nil }
}

// WithAppID sets the app id property.
func WithAppID(id string) PublishOption {
	return func(o *publishOptions) error { o.props.AppID = id; return nil }
}

// WithTimestamp sets the timestamp property (AMQP keeps whole seconds).
// kelp does not set one by itself.
func WithTimestamp(t time.Time) PublishOption {
	return func(o *publishOptions) error { o.props.Timestamp = t; return nil }
}

// WithMandatory asks the broker to return the message if no queue takes
// it; with confirms on, Publish then fails with a [*ReturnedError].
// Without confirms kelp cannot tie a return to its publish, so it only
// logs it.
func WithMandatory() PublishOption {
	return func(o *publishOptions) error { o.mandatory = true; return nil }
}

// WithSerializer serializes the body with the named serializer (a name
// such as "json" or "msgpack", or a content type) instead of
// [Config.Serializer]. An unknown name fails the publish with
// [ErrInvalidOption].
func WithSerializer(name string) PublishOption {
	return func(o *publishOptions) error {
		if name == "" {
			return invalidOption("empty serializer name")
		}
		o.serializer = name
		o.contentType = ""
		return nil
	}
}

// WithCompression compresses the serialized body with the named
// compressor ("zlib", "zstd", ... or a `compression` header value) and
// sets the `compression` header. An unknown name fails the publish with
// [ErrInvalidOption].
func WithCompression(name string) PublishOption {
	return func(o *publishOptions) error { o.compression = name; return nil }
}

// WithFailFast makes Publish fail at once instead of waiting when the
// connection cannot take the message now: with [ErrBlocked] while the broker
// blocks publishers, and with [ErrConnectionLost] while kelp is
// reconnecting. Without it (the default) Publish waits, bounded by its ctx.
func WithFailFast() PublishOption {
	return func(o *publishOptions) error { o.failFast = true; return nil }
}

// WithContentType sends a pre-serialized body as is, with the given
// content type and encoding: the body must be a []byte or a string, and
// no serializer runs (Kombu's publish with content_type). An empty
// encoding means "binary" for a []byte and "utf-8" for a string.
func WithContentType(contentType, contentEncoding string) PublishOption {
	return func(o *publishOptions) error {
		if contentType == "" {
			return invalidOption("empty content type")
		}
		o.contentType = contentType
		o.props.ContentEncoding = contentEncoding
		o.serializer = ""
		return nil
	}
}

// WithDeclare declares entities (exchanges, queues with their bindings)
// through [Connection.MaybeDeclare] before publishing.
func WithDeclare(entities ...Entity) PublishOption {
	return func(o *publishOptions) error {
		for _, e := range entities {
			if err := validateEntity(e); err != nil {
				return invalidOption("declare: %v", err)
			}
		}
		o.declare = append(o.declare[:len(o.declare):len(o.declare)], entities...)
		return nil
	}
}

// WithRetry retries the publish under p when it fails with a retryable
// error, including [ErrConfirmLost]: the message is published again once
// the connection is back. Without it such errors are returned at once.
func WithRetry(p RetryPolicy) PublishOption {
	return func(o *publishOptions) error {
		o.retry = &p
		return nil
	}
}
