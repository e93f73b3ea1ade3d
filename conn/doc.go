// Package conn is kelp's user API: self-healing broker connections,
// producers with publisher confirms, channel-native consumers, deliveries
// with exactly-once settling, and Kombu's retry and declaration helpers.
// It turns the byte-level driver SPI of package [transports] into what
// applications use, on every transport alike.
//
//	c, err := conn.Dial(ctx, "amqp://guest:guest@localhost:5672//")
//	...
//	defer c.Close(ctx)
//	q := route.NewQueue("tasks")
//	err = c.Producer().Publish(ctx, map[string]any{"n": 1},
//		conn.WithRoutingKey("tasks"), conn.WithDeclare(q))
//	cons, err := c.Consume(ctx, []route.Queue{q})
//	for d := range cons.C() {
//		var v map[string]any
//		_ = d.Decode(&v)
//		_ = d.Ack(ctx)
//	}
//
// # Connections
//
// [Dial] and [DialConfig] take a URL, in Kombu's forms, or a ';'-separated
// failover list ([ParseURL]); [Open] takes a [transports.Connector] built
// by a driver. [Config] holds the connection-level settings; its zero
// value works. A [Connection] is an actor: one goroutine owns the
// transport connection, dials it (bounded by Config.ConnectTimeout per
// attempt), and after a loss dials again, forever by default, walking the
// failover list in rounds with exponential backoff and full jitter between
// failed rounds. Its state ([State]) moves through
// StateConnecting → StateOpen ⇄ StateBlocked → StateReconnecting → ... →
// StateClosing → StateClosed and can be read without ever blocking the
// actor: [Connection.State], [Connection.Epoch], [Connection.WaitState],
// and the Config.OnStateChange hook, which runs on a goroutine of its own.
//
// Every successful (re)connect bumps the epoch. Before the connection
// reports StateOpen again, it replays the topology declared through it
// ([Connection.Declare], [Connection.DeclareQueue], [Connection.MaybeDeclare],
// [WithDeclare], and the queues given to [Connection.Consume]), exchanges
// first, giving server-named queues new names that consumers follow. Then
// consumers subscribe again. The MaybeDeclare cache is cleared on every
// reconnect.
//
// Operations started while the connection is reconnecting wait for it,
// bounded by their ctx. Publishes also wait while the broker blocks
// publishers (StateBlocked); with [WithFailFast] they fail at once instead,
// with [ErrBlocked] or [ErrConnectionLost].
//
// # Goroutines and channels
//
// Each broker channel is driven by an actor goroutine of its own (on
// transports whose Publish, Ack and Nack never wait on the network, memory
// and AMQP, those three run on the calling goroutine, one at a time). The
// connection keeps a bounded pool of channels, opened lazily and shared by
// every caller: Config.PublishChannels channels for publishing (in
// confirm mode; one by default), taken in turns, one for declarations and
// one for [Connection.Get]; each consumer has its own (see
// [WithChannels]). So a Connection and its Producers are safe for
// concurrent use, and the number of broker channels stays bounded
// however many goroutines publish. Every goroutine kelp starts belongs to a
// Connection or a Consumer and ends with it: [Connection.Close],
// [Consumer.Stop], [Consumer.Drain], [Pinned.Close].
//
// No kelp goroutine ever waits for the user to receive from a Go channel
// in order to make progress: the only channel the user reads is
// [Consumer.C], and nothing else depends on its being drained. The amount
// of data waiting for the user is bounded by the consumer's prefetch.
//
// # Publishing
//
// [Connection.Producer] returns a [Producer] with default options;
// [Producer.Publish] serializes (Kombu's automatic choice, or
// Config.Serializer, or [WithSerializer]), compresses ([WithCompression]),
// and publishes with Kombu's properties: delivery mode (default
// persistent) and priority (default 0) are always set. With confirms on
// (the default where the transport supports them) Publish returns once
// the broker confirmed; concurrent publishers share a channel, whose actor
// keeps up to Config.ConfirmWindow publishes in flight and hands each
// confirmation back to its caller. The outcomes are distinct:
// [ErrNacked], [ErrReturned] (a [*ReturnedError]; needs [WithMandatory]
// and confirms), [ErrConfirmLost] (the connection or channel died first;
// with [WithRetry] the message is published again after reconnecting,
// so it may arrive twice), and ctx's error ([ErrTimeout] on a deadline).
//
// # Consuming
//
// [Connection.Consume] returns a [Consumer] whose [Consumer.C] delivers
// from all its queues, through one Go channel that survives reconnects
// and is closed only when the consumer ends. [Consumer.Next] and
// [Consumer.All] read it with a ctx. Ending a consumer:
//
//   - [Consumer.Stop] ends it now: broker channels are closed, so every
//     unsettled delivery goes back to its queue; C closes.
//   - [Consumer.Cancel] stops the broker sending (basic.cancel) and
//     returns once the broker confirmed it, without waiting for the user:
//     what the broker had already sent is still handed out on C, which
//     then closes; those deliveries are settled as usual (or requeued by
//     Stop). With prefetch 1, cancelling while holding a delivery takes
//     nothing more from the queue.
//   - [Consumer.Drain] ends it gracefully: the broker stops sending, the
//     deliveries already sent are still handed out on C (read C until it
//     closes), and Drain waits until the user settled every delivery
//     handed out, or its ctx ends; then it stops as Stop does.
//   - [Connection.Close] drains every consumer, waits for outstanding
//     confirms, then closes the broker connection; bounded by its ctx and
//     idempotent.
//
// Messages a consumer cannot accept (a content type outside its accept
// list, a body larger than Config.MaxMessageSize, a body that does not
// decompress) are rejected without requeue and
// logged, never handed out: they go to the queue's dead-letter exchange if
// it has one.
//
// # Pinned channels
//
// [Connection.Pin] reserves one broker channel for a single user, who
// both consumes ([Pinned.Consume]) and publishes ([Pinned.Publish]) on it;
// RabbitMQ's direct reply-to needs that, and package rpc uses it. A
// [Pinned] does not heal: it belongs to the epoch it was opened in, and
// when its channel or the connection is lost, [Pinned.Done] closes,
// [Pinned.Err] says why ([ErrChannelClosed], and [ErrConnectionLost] for
// a lost connection), its subscriptions' Go channels close and what was
// in flight on it is lost; the user pins a new one and retries.
//
// # Settling
//
// A [Delivery] is settled once, with [Delivery.Ack], [Delivery.Nack],
// [Delivery.Reject] or [Delivery.Requeue]. A second settle returns
// [ErrAlreadySettled] without calling the broker. A delivery from an
// older epoch, or whose broker channel is gone, is never sent to the
// broker: settling it returns [ErrStaleDelivery] (the broker redelivers
// the message anyway). Deliveries of a no-ack consumer need no settling;
// settling them is a no-op.
//
// # Serve
//
// [Connection.Serve] runs a [Handler] on every delivery, with
// [WithConcurrency] handlers at once, until its ctx ends (then it drains).
// The settle rule: a nil error acks; an error (or a panic, recovered)
// requeues the message once: it is requeued when it was not redelivered,
// and rejected (dead-lettered) when it was. Wrap the error with
// [Requeue] to always requeue, or with [Reject] to never requeue. A
// handler may settle the delivery itself; Serve then leaves it alone.
//
// # Errors
//
// Errors match the sentinels of errors.go with [errors.Is] and wrap their
// cause: [ErrConnectionLost], [ErrChannelClosed], [ErrNotFound],
// [ErrAccessRefused], [ErrPreconditionFailed] (these three match the
// broker's reply code on every transport), [ErrContentDisallowed],
// [ErrDecode], [ErrAlreadySettled], [ErrStaleDelivery], [ErrTimeout]
// (which matches [context.DeadlineExceeded]), [ErrClosed], [ErrNacked],
// [ErrReturned], [ErrConfirmLost], [ErrEmpty], [ErrInvalidOption] and
// [ErrInvalidConfig]. URLs in errors and logs never show passwords.
//
// [Connection.Ensure] runs an operation under a [RetryPolicy]: retryable
// errors (connection lost, channel closed, confirm lost, temporary broker
// codes) are retried after the connection is back, others returned.
package conn
