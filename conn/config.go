package conn

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/internal/actor"
)

// Defaults applied by [Config] to its zero fields.
const (
	// DefaultConnectTimeout bounds each connection attempt.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultConfirmWindow is the number of unconfirmed publishes a
	// connection keeps in flight before new publishes wait.
	DefaultConfirmWindow = 256
	// MaxPublishChannels bounds [Config.PublishChannels].
	MaxPublishChannels = 64
	// DefaultMaxMessageSize is the default [Config.MaxMessageSize]: 128 MiB,
	// RabbitMQ's default max_message_size.
	DefaultMaxMessageSize = 128 << 20
	// DefaultPrefetch is the prefetch count of a consumer without
	// [WithPrefetch].
	DefaultPrefetch = 100
)

// FailoverStrategy is the order in which a connection tries the URLs of a
// failover list.
type FailoverStrategy int

const (
	// RoundRobin tries the URLs in the order given, starting after the one
	// that was last connected (Kombu's "round-robin"). The default.
	RoundRobin FailoverStrategy = iota
	// Shuffle tries the URLs in a new random order on every round (Kombu's
	// "shuffle").
	Shuffle
)

// String returns "round-robin" or "shuffle".
func (s FailoverStrategy) String() string {
	switch s {
	case RoundRobin:
		return "round-robin"
	case Shuffle:
		return "shuffle"
	}
	return fmt.Sprintf("FailoverStrategy(%d)", int(s))
}

// Backoff is the reconnect policy: exponential delays with full jitter and
// a cap. A delay is drawn uniformly from [0, min(Max, Initial×Multiplier^n)]
// after the n-th full round over the failover list failed. The zero value
// retries forever with delays capped at 100ms, 200ms, 400ms, ... 30s.
type Backoff struct {
	// Initial is the cap of the first delay. Zero means 100ms.
	Initial time.Duration
	// Max caps every delay. Zero means 30s.
	Max time.Duration
	// Multiplier is the growth of the cap per round. Zero means 2.
	Multiplier float64
	// MaxAttempts bounds the failed rounds in a row before the connection
	// gives up and closes itself with the last error. Zero means retry
	// forever.
	MaxAttempts int
}

// policy converts b into the supervision policy of internal/actor.
func (b Backoff) policy() actor.Policy {
	return actor.Policy{
		Backoff:     actor.Backoff{Initial: b.Initial, Max: b.Max, Multiplier: b.Multiplier},
		MaxRestarts: b.MaxAttempts,
		StableAfter: -1, // a round never "stays up": each failure counts
	}
}

// Config holds the connection-level settings of [Open] and [DialConfig].
// The zero value is ready to use: every field documents its default.
// Per-call settings (routing, prefetch, ...) are options of the calls
// instead.
type Config struct {
	// Name is the connection name shown by the broker where the protocol
	// allows it. Empty means the driver's default.
	Name string

	// Logger receives the connection's diagnostic logs (reconnects,
	// rejected messages). Nil means discard. kelp never logs to a
	// package-level logger.
	Logger *slog.Logger

	// Reconnect is the backoff between failed rounds of connection
	// attempts. The zero value retries forever.
	Reconnect Backoff

	// Failover is the order in which the URLs of a failover list are
	// tried. The zero value is [RoundRobin].
	Failover FailoverStrategy

	// ConnectTimeout bounds each connection attempt (dial and handshake).
	// Zero means [DefaultConnectTimeout].
	ConnectTimeout time.Duration

	// DisableConfirms turns publisher confirms off. By default they are on
	// wherever the transport supports them ([transports.Confirmer]), so that
	// [Producer.Publish] returns only once the broker took the message.
	DisableConfirms bool

	// ConfirmWindow is the maximum number of unconfirmed publishes in
	// flight on the connection; further publishes wait for room. Zero means
	// [DefaultConfirmWindow].
	ConfirmWindow int

	// PublishChannels is the size of the connection's pool of publisher
	// channels: the broker channels (opened lazily, in confirm mode)
	// that every [Producer] of the connection shares. Publishes take them
	// in turns, so concurrent publishers spread over up to this many
	// channels (on RabbitMQ, one broker process each), all sharing
	// ConfirmWindow. With more than one, two publishes that overlap in
	// time may reach their queue in either order; publishes made one
	// after the other (each returning before the next starts) keep their
	// order only with confirms on. Zero means 1; at most
	// [MaxPublishChannels].
	PublishChannels int

	// Codecs is the serializer and compressor registry. Nil means
	// [codec.Default].
	Codecs *codec.Registry

	// Serializer names the serializer of published bodies (a name such as
	// "json" or a content type). Empty means Kombu's automatic choice: a
	// []byte body is sent raw (application/data), a string as text/plain
	// and every other value as JSON.
	Serializer string

	// Accept is the default accept list of consumers and [Connection.Get]:
	// serializer names or content types. Nil accepts every content type
	// (pickle and yaml are still never decoded); see [codec.Accept].
	Accept []string

	// MaxDecompressedSize limits the size of a decompressed body; larger
	// messages fail to decode. Zero means
	// [codec.DefaultMaxDecompressedSize].
	MaxDecompressedSize int64

	// MaxMessageSize limits the size of a message body as it travels
	// (serialized and compressed): Publish refuses a larger body with
	// [ErrMessageTooLarge] before sending it, and consumers reject (without
	// requeue: dead-lettered where the queue has a dead-letter exchange) a
	// larger delivery instead of handing it out. Zero means
	// [DefaultMaxMessageSize], RabbitMQ's own default limit.
	MaxMessageSize int64

	// OnStateChange, if set, is called with each state the connection
	// enters, in order, from a goroutine of its own: a slow hook delays
	// later calls but never the connection. Rapid changes may be coalesced
	// into the latest one.
	OnStateChange func(StateChange)
}

// Validate reports every problem of c, joined, each matching
// [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...)))
	}
	if c.Failover != RoundRobin && c.Failover != Shuffle {
		bad("unknown failover strategy %d", int(c.Failover))
	}
	if c.ConnectTimeout < 0 {
		bad("negative connect timeout %v", c.ConnectTimeout)
	}
	if c.ConfirmWindow < 0 {
		bad("negative confirm window %d", c.ConfirmWindow)
	}
	if c.PublishChannels < 0 || c.PublishChannels > MaxPublishChannels {
		bad("publish channels %d out of range 0..%d", c.PublishChannels, MaxPublishChannels)
	}
	if c.MaxDecompressedSize < 0 {
		bad("negative max decompressed size %d", c.MaxDecompressedSize)
	}
	if c.MaxMessageSize < 0 {
		bad("negative max message size %d", c.MaxMessageSize)
	}
	if c.Reconnect.Initial < 0 || c.Reconnect.Max < 0 || c.Reconnect.Multiplier < 0 || c.Reconnect.MaxAttempts < 0 {
		bad("negative reconnect backoff setting %+v", c.Reconnect)
	}
	reg := c.Codecs
	if reg == nil {
		reg = codec.Default
	}
	if c.Serializer != "" {
		if _, err := reg.Serializer(c.Serializer); err != nil {
			bad("serializer: %v", err)
		}
	}
	if c.Accept != nil {
		if _, err := reg.NewAccept(c.Accept...); err != nil {
			bad("accept: %v", err)
		}
	}
	return errors.Join(errs...)
}

// settings is a validated Config with every default filled in.
type settings struct {
	Config
	accept *codec.Accept
}

// withDefaults validates c and fills in its defaults. It is the one place
// defaults are applied.
func (c Config) withDefaults() (settings, error) {
	if err := c.Validate(); err != nil {
		return settings{}, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ConfirmWindow == 0 {
		c.ConfirmWindow = DefaultConfirmWindow
	}
	if c.PublishChannels == 0 {
		c.PublishChannels = 1
	}
	if c.Codecs == nil {
		c.Codecs = codec.Default
	}
	if c.MaxDecompressedSize == 0 {
		c.MaxDecompressedSize = codec.DefaultMaxDecompressedSize
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	s := settings{Config: c}
	if c.Accept != nil {
		a, err := c.Codecs.NewAccept(c.Accept...)
		if err != nil { // unreachable after Validate; kept for safety
			return settings{}, fmt.Errorf("%w: accept: %w", ErrInvalidConfig, err)
		}
		s.accept = a
	}
	return s, nil
}
