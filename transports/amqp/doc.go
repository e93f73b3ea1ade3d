// Package amqp is kelp's AMQP 0-9-1 driver, for RabbitMQ, built on
// github.com/rabbitmq/amqp091-go. It implements the SPI of package
// [github.com/kelpmq/kelp/transports] with every optional capability:
// publisher confirms ([transports.Confirmer]), returned messages
// ([transports.Returner]), connection.blocked ([transports.BlockNotifier]),
// exchange-to-exchange bindings ([transports.ExchangeBinder]) and
// basic.recover ([transports.Recoverer]). Routing is RabbitMQ's own.
//
// Users do not call this package directly: they import it for its
// registration (or import transports/all) and dial through package conn,
// which adds reconnection, topology replay, confirm pipelining and
// settling rules. amqp091-go's automatic recovery is never turned on.
//
// # Wiring
//
// The package registers its [Driver] for the URL schemes in [Schemes]:
// amqp and amqps, and Kombu's aliases pyamqp and librabbitmq (plain AMQP,
// as Kombu's own transports of those names speak the same protocol).
// [ParseURL] reads Kombu's URL form, vhost rules and query keys into a
// [Config]; [NewConnector] builds a [Connector] from a Config for explicit
// wiring. The zero Config dials amqp://guest:guest@localhost:5672/ with a
// 10s heartbeat. Connections announce themselves with the client
// properties product "kelp", version, platform and, from
// [transports.ConnectOptions.Name], connection_name.
//
// # Concurrency and goroutines
//
// A Conn is safe for concurrent use; a Channel is driven by one goroutine at
// a time, as the SPI says. Every amqp091 call that writes to the broker runs
// on a worker goroutine of the Channel, in the order of the method calls.
// Publish, Ack and Nack queue their frame and return without waiting for
// the write (they wait only while the queue of 128 calls is full, bounded
// by ctx): publisher confirms report the outcome of a publish, and a write
// that fails kills the Channel, so a confirmed publish is then resolved as
// lost. The worker takes every settle queued behind the one in hand and
// sends those that are the channel's oldest unsettled deliveries as one
// basic.ack with multiple (only while the channel has had a single
// consumer, so that the driver knows every unsettled tag; a lone ack goes
// out at once). Conn.Close and Channel.Close send what is queued first.
// The other methods wait for their call, bounded by their ctx even though
// amqp091-go's calls take none: when ctx ends first, the call may still
// reach the broker, so the Channel is then closed (its Err and the method's
// error wrap ctx's error and [transports.ErrChannelClosed]) and the amqp091
// channel is closed in the background. Connect and Conn.Close cut their
// handshakes short by closing the socket.
//
// amqp091-go delivers notifications (close, confirms, returns, consumer
// cancellations, connection.blocked) by sending on Go channels from its
// reader goroutine, which stalls (and after 5 seconds drops the
// notification) when a channel is full. The driver creates every such
// channel itself, buffered, and drains it at all times from a goroutine it
// owns, queueing what the SPI's receivers have not taken yet; nothing a
// caller does or fails to do can stall amqp091's reader. The queues are
// bounded by the caller's own activity: one confirmation per publish, one
// return per returned publish.
//
// Every goroutine belongs to a Conn and has ended when [transports.Conn]
// Close returns. Closing a Channel stops its goroutines, except that the one
// draining notifications of a channel abandoned after a ctx ended lives
// until amqp091 finishes closing that channel (at the latest, until the
// Conn closes).
//
// # Deliveries
//
// Each Subscription relays amqp091's deliveries on an unbuffered Go channel.
// Between the broker and the receiver there is amqp091's queue of the
// consumer, which the broker keeps within the channel's prefetch count, and
// the one delivery in hand. A no-ack consumer has no such limit: RabbitMQ
// sends as fast as it can and amqp091 buffers without bound, so use no-ack
// only when the receiver keeps up. A consumer the broker cancels (its queue
// was deleted) ends with an Err wrapping [transports.ErrConsumerCancelled];
// one ended by Cancel ends with nil; one whose Channel or Conn closed or
// died ends with the Channel's Err ([transports.ErrClosed] after Close).
//
// # Confirms and returns
//
// [transports.Confirmer] confirmations arrive in sequence order, one per
// publish (multiple acks are expanded), and stop when the Channel ends:
// unconfirmed publishes are never reported as nacked. In confirm mode a
// returned mandatory publish arrives inside its confirmation; RabbitMQ's
// basic.return carries no sequence number, and the way the driver matches
// it to its publish, with its one ambiguity, is described on the events
// type in events.go: by order, checked by exchange, routing key and body.
// Outside confirm mode returns arrive on Returns.
//
// # Errors
//
// Broker replies become [*transports.Error] with AMQP's code and RabbitMQ's
// reason text. A channel-level error (404, 406, 403, 405 ...) closes the
// Channel, whose Err then wraps [transports.ErrChannelClosed] and the
// *Error; the failing call returns the *Error (AMQP reports a publish to a
// missing exchange and an ack of an unknown tag asynchronously: the call
// succeeds and the Channel closes). A connection-level error or any I/O
// failure kills the Conn: its Err, and the Err of its Channels, wrap
// [transports.ErrConnLost] (with the broker's *Error, such as 320
// CONNECTION_FORCED, when there is one). A refused login is a 403 *Error,
// never ErrConnLost. After Close, Err is [transports.ErrClosed]. Values the
// wire cannot carry fail with [ErrInvalidArgument] before anything is sent;
// configuration errors wrap [ErrInvalidConfig], URL errors
// [transports.ErrInvalidURL], and none contains the password.
//
// # Tables
//
// Headers, and exchange, queue, binding and consumer arguments, convert
// between route.Table and AMQP field tables. Sent as they are: nil, bool,
// string, []byte, int8, uint8, int16, uint16, int32, uint32, int64, float32,
// float64, time.Time (whole seconds), [Decimal], nested route.Table or
// map[string]any, and []any. Converted on the way out: int, uint and uint64
// (up to math.MaxInt64) to int64; json.Number to int64 or float64; named
// types by their underlying kind; slices and arrays of bytes to []byte,
// other slices and arrays to arrays; maps
// with string keys to tables. Anything else (structs, pointers, channels,
// funcs, uint64 above math.MaxInt64) is an [ErrInvalidArgument] error,
// never a panic; so is what amqp091-go could not read back or RabbitMQ
// would close the channel or the connection for: nesting deeper than 32
// levels, a table or array of more than 8192 entries, a NaN or an
// infinity, headers whose properties do not fit one frame (frame_max),
// and CC or BCC headers that are not arrays (RabbitMQ reads them as extra
// routing keys, and removes BCC). What comes back: every value
// with the Go type of its wire type, so int, uint, uint64 and json.Number
// come back as int64, typed slices as []any, nested tables as route.Table,
// decimals as [Decimal], timestamps as time.Time in the local zone, to the
// second; everything else round-trips exactly.
//
// # RabbitMQ specifics
//
// Queue options come from [route.Queue.DeclareArguments]: TTL, expiry,
// length limits, overflow, priorities, dead-lettering and the queue type
// are all native. Deleting a missing queue or exchange succeeds (RabbitMQ
// 3.x). Qos ignores PrefetchSize: RabbitMQ refuses any value but 0 with
// 540, which would close the connection. basic.recover without requeue is
// not implemented by RabbitMQ and fails here with
// [transports.ErrUnsupported]. Exchange kinds other than the four AMQP ones
// fail with ErrUnsupported, except names starting with "x-" (RabbitMQ
// plugins), which are passed through.
package amqp
