package simple

import "github.com/kelpmq/kelp/conn"

// maxPrefetch is the largest prefetch count AMQP can carry.
const maxPrefetch = 65535

// Option is a setting of [New], [NewQueue] and [NewBuffer]. Options
// validate their values: the constructor fails with an error matching
// [ErrInvalidOption] when one is invalid.
type Option func(*options) error

// options are the settings of a Queue, defaults filled in by newOptions.
type options struct {
	noAck       bool
	prefetch    int
	serializer  string
	compression string
	accept      []string
}

// newOptions applies opts over the defaults.
func newOptions(noAck bool, opts []Option) (options, error) {
	o := options{noAck: noAck, prefetch: 1}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

// consumeOptions are the conn options of the queue's consumer and of
// [conn.Connection.Get].
func (o options) consumeOptions() []conn.ConsumeOption {
	var out []conn.ConsumeOption
	if o.noAck {
		out = append(out, conn.WithNoAck())
	} else {
		out = append(out, conn.WithPrefetch(o.prefetch))
	}
	if o.accept != nil {
		out = append(out, conn.WithAccept(o.accept...))
	}
	return out
}

// WithNoAck sets whether messages count as settled once the broker sent
// them (Kombu's no_ack). [NewQueue] defaults to false, [NewBuffer] to
// true. Deliveries of a no-ack queue need no settling.
func WithNoAck(noAck bool) Option {
	return func(o *options) error { o.noAck = noAck; return nil }
}

// WithPrefetch sets how many unsettled messages the consumer behind
// [Queue.Get] may hold, 1 to 65535. The default is 1, so that a message
// [Queue.Get] has not returned stays in the queue, counted by [Queue.Len]
// and free for other consumers; raise it for throughput. It has no effect
// on no-ack queues.
func WithPrefetch(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxPrefetch {
			return invalid("prefetch %d out of range 1..%d", n, maxPrefetch)
		}
		o.prefetch = n
		return nil
	}
}

// WithSerializer sets the serializer of [Queue.Put] ("json", "msgpack",
// or a content type). Empty (the default) means the connection's. An
// unknown name makes Put fail with [conn.ErrInvalidOption].
func WithSerializer(name string) Option {
	return func(o *options) error { o.serializer = name; return nil }
}

// WithCompression sets the compression of [Queue.Put] ("zlib", "zstd",
// ... or a `compression` header value). Empty (the default) means none.
// An unknown name makes Put fail with [conn.ErrInvalidOption].
func WithCompression(name string) Option {
	return func(o *options) error { o.compression = name; return nil }
}

// WithAccept sets the accept list of [Queue.Get] and [Queue.TryGet]
// (serializer names or content types), replacing the connection's.
func WithAccept(namesOrTypes ...string) Option {
	return func(o *options) error {
		o.accept = append([]string{}, namesOrTypes...)
		return nil
	}
}
