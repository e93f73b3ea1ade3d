package conn

import (
	"maps"

	"github.com/kelpmq/kelp/route"
)

// ConsumeOption is a per-consumer setting of [Connection.Consume] and
// [Connection.Serve]. Options validate their values: the call fails with an
// error matching [ErrInvalidOption] when one is invalid.
type ConsumeOption func(*consumeOptions) error

// consumeOptions are the collected settings of one consumer.
type consumeOptions struct {
	prefetch    int
	noAck       bool
	accept      []string
	acceptSet   bool
	tagPrefix   string
	exclusive   bool
	args        route.Table
	channels    int
	concurrency int
}

func newConsumeOptions(opts []ConsumeOption) (consumeOptions, error) {
	o := consumeOptions{prefetch: DefaultPrefetch, channels: 1, concurrency: 1}
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

// WithPrefetch sets how many unsettled deliveries each channel of the
// consumer may hold, 1 to 65535. It bounds every buffer between the broker
// and the user. The default is [DefaultPrefetch] (100). It has no effect
// with [WithNoAck].
func WithPrefetch(n int) ConsumeOption {
	return func(o *consumeOptions) error {
		if n < 1 || n > 65535 {
			return invalidOption("prefetch %d is outside 1..65535", n)
		}
		o.prefetch = n
		return nil
	}
}

// WithNoAck makes the broker consider every message settled once sent:
// faster, but messages in flight are lost if the consumer dies. Settling a
// no-ack delivery is a no-op.
func WithNoAck() ConsumeOption {
	return func(o *consumeOptions) error { o.noAck = true; return nil }
}

// WithAccept sets the consumer's accept list (serializer names or content
// types), replacing [Config.Accept]. Messages of other content types are
// rejected by the consumer, never handed out.
func WithAccept(namesOrTypes ...string) ConsumeOption {
	return func(o *consumeOptions) error {
		o.accept = append([]string(nil), namesOrTypes...)
		o.acceptSet = true
		return nil
	}
}

// WithTagPrefix sets the prefix of the consumer tags kelp generates (the
// tags are prefix + a sequence number). The default is "kelp-".
func WithTagPrefix(prefix string) ConsumeOption {
	return func(o *consumeOptions) error {
		if len(prefix) > 200 {
			return invalidOption("tag prefix is %d bytes long, the limit is 200", len(prefix))
		}
		o.tagPrefix = prefix
		return nil
	}
}

// WithExclusive asks to be the only consumer of each queue; the broker
// refuses with [ErrAccessRefused] (or 405) when another consumer exists.
func WithExclusive() ConsumeOption {
	return func(o *consumeOptions) error { o.exclusive = true; return nil }
}

// WithConsumerPriority sets the consumer priority (RabbitMQ's x-priority
// argument): higher-priority consumers are served first.
func WithConsumerPriority(p int) ConsumeOption {
	return WithConsumerArguments(route.Table{"x-priority": int64(p)})
}

// WithConsumerArguments adds consumer arguments; later options override
// earlier keys. The table is copied.
func WithConsumerArguments(args route.Table) ConsumeOption {
	return func(o *consumeOptions) error {
		m := make(route.Table, len(o.args)+len(args))
		maps.Copy(m, o.args)
		maps.Copy(m, args.Clone())
		o.args = m
		return nil
	}
}

// WithChannels spreads the consumer's queues over n broker channels (1 to
// 64), each with its own prefetch window, so that one slow queue cannot
// hold the others' credit. The default is 1.
func WithChannels(n int) ConsumeOption {
	return func(o *consumeOptions) error {
		if n < 1 || n > 64 {
			return invalidOption("channels %d is outside 1..64", n)
		}
		o.channels = n
		return nil
	}
}

// WithConcurrency sets how many handlers [Connection.Serve] runs at once
// (1 to 65535; the default is 1). [Connection.Consume] ignores it.
func WithConcurrency(n int) ConsumeOption {
	return func(o *consumeOptions) error {
		if n < 1 || n > 65535 {
			return invalidOption("concurrency %d is outside 1..65535", n)
		}
		o.concurrency = n
		return nil
	}
}
