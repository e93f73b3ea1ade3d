package transports

import (
	"context"
	"log/slog"

	"github.com/kelpmq/kelp/route"
)

// Driver opens connectors for the URLs of one transport. A Driver is
// registered under one or more URL schemes with [Register].
//
// Implementations must be safe for concurrent use.
type Driver interface {
	// OpenConnector parses rawURL (a single URL: conn has already split
	// failover lists on ';') and returns a Connector for it. It does no I/O.
	//
	// A malformed URL, an unknown query option or an invalid value must be
	// reported here, wrapping [ErrInvalidURL], and the message must not
	// contain the URL's password (use [RedactURL]).
	OpenConnector(rawURL string) (Connector, error)
}

// ConnectOptions are the settings conn passes to every
// [Connector.Connect]. The zero value is valid.
type ConnectOptions struct {
	// Name is a human-readable connection name that drivers show to the
	// broker where the protocol allows it (AMQP's "connection_name" client
	// property, Redis CLIENT SETNAME). Empty means the driver's default.
	Name string
	// Logger receives the driver's diagnostic logs. Nil means discard.
	// Drivers never log to a package-level logger.
	Logger *slog.Logger
}

// Connector holds a parsed address and options and dials connections from
// them, any number of times. conn calls Connect again on every reconnect.
//
// Implementations must be safe for concurrent use.
type Connector interface {
	// Connect dials a new connection, bounded by ctx. It returns an error
	// wrapping ctx.Err() when ctx ended first, [ErrConnLost] (wrapping the
	// cause) when the broker could not be reached or the connection broke
	// during the handshake, and an [*Error] with code 403 (see
	// [ErrAccessRefused]) when the broker refused the credentials. On
	// error nothing is left open.
	Connect(ctx context.Context, opts ConnectOptions) (Conn, error)

	// Address returns the address this Connector dials, in URL form with
	// the password redacted, for logs and error messages.
	Address() string
}

// Conn is one live connection to a broker.
//
// A Conn is safe for concurrent use. It dies at most once: when it does,
// Done is closed, Err reports why, and every Channel opened from it is dead
// too. A dead Conn never comes back; conn dials a new one.
type Conn interface {
	// Channel opens a new channel, bounded by ctx. It returns an error
	// wrapping [ErrConnLost] when the connection is dead, and an [*Error]
	// with code 530 (see [ErrNotAllowed]) when the channel limit is reached.
	Channel(ctx context.Context) (Channel, error)

	// Done returns a Go channel that is closed when the connection has
	// died or was closed. It never blocks and returns the same channel on
	// every call.
	Done() <-chan struct{}

	// Err returns nil while the connection is alive. After Done is closed it
	// returns why: an error wrapping [ErrConnLost] (with the cause, such as
	// a broker-forced close with an [*Error] code 320, or an I/O error)
	// for an unexpected death, or [ErrClosed] after Close.
	Err() error

	// Close closes the connection and all its channels, bounded by ctx. It
	// is idempotent; a second call returns nil. Unsettled deliveries of its
	// channels are returned to their queues by the broker (or, for virtual
	// transports, by the driver). When ctx ends first the driver still
	// tears the connection down, abruptly, and returns ctx's error.
	Close(ctx context.Context) error
}

// Channel is a lightweight session inside a [Conn]: it declares topology,
// publishes, consumes and settles deliveries.
//
// Concurrency: a Channel is driven by one goroutine at a time: conn calls
// its methods one after another, under a lock, from its channel actor
// (or, for the [Inline] methods, from the caller's goroutine), except Done
// and Err, which any goroutine may call, and the Go channels a Channel
// returns, which any goroutine may receive from.
//
// Broker errors: a method that fails with a channel-level [*Error] (codes
// 311 to 406) closes the Channel, as AMQP does, so that behaviour is the same
// on every transport: Done is closed and later calls return an error
// wrapping [ErrChannelClosed]. A connection-level [*Error] (320, 402, 5xx)
// kills the whole Conn.
type Channel interface {
	// ExchangeDeclare declares an exchange, or with ex.Passive checks that
	// it exists (404 [ErrNotFound] otherwise). Redeclaring with a different
	// definition fails with 406 [ErrPreconditionFailed]. A driver that does
	// not support ex.Kind returns an error wrapping [ErrUnsupported]; one
	// that ignores some fields (durability on an in-memory broker) documents
	// which. ex.NoDeclare is conn's business; drivers ignore it.
	ExchangeDeclare(ctx context.Context, ex route.Exchange) error

	// ExchangeDelete deletes an exchange and its bindings. Deleting a
	// missing exchange succeeds (RabbitMQ 3.x semantics). With ifUnused it
	// fails with 406 when the exchange still has bindings.
	ExchangeDelete(ctx context.Context, name string, ifUnused bool) error

	// QueueDeclare declares a queue, or with q.Passive checks that it exists
	// (404 otherwise), and reports its name and counts. q.Name "" asks the
	// broker for a server-named queue. Drivers read the queue options from
	// the fields of q (conn passes q through route.Queue.Normalize first)
	// and ignore q.Bindings: conn binds separately with QueueBind. An
	// option the transport cannot honour is documented by the driver, or
	// refused with an error wrapping [ErrUnsupported] when ignoring it would
	// lose data.
	QueueDeclare(ctx context.Context, q route.Queue) (QueueInfo, error)

	// QueueDelete deletes a queue and returns how many ready messages it
	// held. Deleting a missing queue succeeds with 0. If a condition in opts
	// is not met it fails with 406 [ErrPreconditionFailed].
	QueueDelete(ctx context.Context, name string, opts QueueDeleteOptions) (int, error)

	// QueueBind binds queue to exchange with a routing key (for topic
	// exchanges a pattern) and arguments (for headers exchanges the match
	// table). Binding twice is a no-op. A missing queue or exchange gives
	// 404 [ErrNotFound].
	QueueBind(ctx context.Context, queue, exchange, key string, args route.Table) error

	// QueueUnbind removes a binding made by QueueBind. Removing a binding
	// that does not exist succeeds.
	QueueUnbind(ctx context.Context, queue, exchange, key string, args route.Table) error

	// QueuePurge removes every ready message (not the unacknowledged ones)
	// and returns how many it removed. A missing queue gives 404.
	QueuePurge(ctx context.Context, name string) (int, error)

	// Qos sets the prefetch limit for consumers started on this channel
	// afterwards (or, with q.Global, for the whole channel). Drivers that
	// emulate consumption must enforce PrefetchCount exactly: never more
	// unacknowledged deliveries outstanding than the limit.
	Qos(ctx context.Context, q Qos) error

	// Publish sends one message. The caller gives up p.Body and p.Headers
	// (see [Message]). A missing exchange gives 404 [ErrNotFound] (AMQP
	// reports it asynchronously by closing the channel; virtual transports
	// report it here).
	//
	// In confirm mode (see [Confirmer]) Publish returns the sequence number
	// its [Confirmation] will carry: 1 for the first publish after Confirm,
	// then 2, 3, ... with no gaps. A Publish that returns an error consumed
	// no sequence number and no confirmation will arrive for it. Outside
	// confirm mode seq is 0, and a nil error only means the driver handed
	// the message to the broker connection.
	Publish(ctx context.Context, p Publishing) (seq uint64, err error)

	// Consume starts a consumer. Deliveries arrive on the Subscription until
	// it ends. A missing queue gives 404; a second exclusive consumer gives
	// 403 [ErrAccessRefused] (or 405 [ErrResourceLocked]) as RabbitMQ does.
	Consume(ctx context.Context, args ConsumeArgs) (Subscription, error)

	// Cancel stops the consumer with the given tag. When Cancel returns, the
	// broker sends no more deliveries to it; deliveries already buffered are
	// still handed out, and then the Subscription's channel is closed with
	// Err nil. Unknown tags are a no-op. Unsettled deliveries stay
	// unsettled: conn decides what to do with them.
	Cancel(ctx context.Context, consumerTag string) error

	// Get fetches one message without a consumer (basic.get). ok is false
	// when the queue is empty. A missing queue gives 404.
	Get(ctx context.Context, queue string, noAck bool) (d Delivery, ok bool, err error)

	// Ack acknowledges the delivery with the given tag, or with multiple
	// every unsettled delivery up to and including it. An unknown tag (or
	// one already settled) is a channel error 406 [ErrPreconditionFailed],
	// as in AMQP; conn never sends one.
	Ack(ctx context.Context, tag uint64, multiple bool) error

	// Nack rejects the delivery with the given tag (with multiple, every
	// unsettled delivery up to it). With requeue the broker puts it back in
	// its queue, marked redelivered; without, it is dropped or dead-lettered.
	// Nack with multiple false is AMQP's basic.reject.
	Nack(ctx context.Context, tag uint64, multiple, requeue bool) error

	// Done returns a Go channel that is closed when the channel is closed
	// or dead. It never blocks.
	Done() <-chan struct{}

	// Err returns nil while the channel is open; after Done is closed, why:
	// an error wrapping [ErrChannelClosed] (and the broker's [*Error], if
	// any), [ErrConnLost] when its Conn died, or [ErrClosed] after Close.
	Err() error

	// Close closes the channel, bounded by ctx. Its consumers end, and its
	// unsettled deliveries go back to their queues marked redelivered. It is
	// idempotent.
	Close(ctx context.Context) error
}

// Subscription is one running consumer started by [Channel.Consume].
//
// Any goroutine may receive from Deliveries. The driver closes Deliveries
// exactly once, when the consumer has ended; Err then reports why. The
// number of deliveries buffered between the broker and the receiver is
// bounded by the channel's prefetch count when one is set. With NoAck or
// prefetch 0 an emulating driver hands out messages only as fast as the
// receiver takes them; a protocol without such flow control (AMQP no-ack)
// buffers as its client library does, and the driver documents it.
type Subscription interface {
	// Tag returns the consumer tag.
	Tag() string

	// Deliveries returns the Go channel deliveries arrive on; the same
	// channel on every call.
	Deliveries() <-chan Delivery

	// Err returns nil until Deliveries is closed. Then: nil when the
	// consumer ended through [Channel.Cancel], an error wrapping
	// [ErrConsumerCancelled] when the broker cancelled it, or the
	// Channel's or Conn's error when those died.
	Err() error
}

// Confirmer is implemented by channels that support publisher confirms.
type Confirmer interface {
	// Confirm puts the channel in confirm mode and returns the Go channel
	// confirmations arrive on: one [Confirmation] per successful Publish
	// from then on, each exactly once (drivers expand AMQP's multiple acks).
	// They may arrive in any order. The Go channel is closed when the
	// Channel closes; publishes unconfirmed at that point never will be, and
	// conn resolves them as lost (never as nacked). Calling Confirm twice
	// returns the same Go channel.
	Confirm(ctx context.Context) (<-chan Confirmation, error)
}

// Returner is implemented by channels that can hand back unroutable
// mandatory messages. In confirm mode, returns travel inside
// [Confirmation.Return] instead, and this channel stays silent.
type Returner interface {
	// Returns returns the Go channel returned messages arrive on, closed
	// when the Channel closes. The same channel on every call.
	Returns() <-chan Return
}

// BlockNotifier is implemented by connections whose broker can pause
// publishers (RabbitMQ's resource alarms).
type BlockNotifier interface {
	// Blocked returns the Go channel flow-control changes arrive on, closed
	// when the Conn dies. The same channel on every call. The driver keeps
	// only the latest state if the receiver is slow, so it never blocks.
	Blocked() <-chan Blocking
}

// ExchangeBinder is implemented by channels that support
// exchange-to-exchange bindings (a RabbitMQ extension to AMQP).
type ExchangeBinder interface {
	// ExchangeBind routes messages arriving at source to destination when
	// they match key and args, with the same rules as QueueBind.
	ExchangeBind(ctx context.Context, destination, source, key string, args route.Table) error
	// ExchangeUnbind removes a binding made by ExchangeBind.
	ExchangeUnbind(ctx context.Context, destination, source, key string, args route.Table) error
}

// Recoverer is implemented by channels that support basic.recover.
type Recoverer interface {
	// Recover redelivers every unacknowledged delivery of the channel. With
	// requeue false the broker may redeliver to the same consumer; drivers
	// that can only requeue return an error wrapping [ErrUnsupported] for
	// requeue false.
	Recover(ctx context.Context, requeue bool) error
}
