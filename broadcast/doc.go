// Package broadcast is Kombu's Broadcast for kelp: publish once, and
// every subscriber gets a copy, through a fanout exchange and one
// auto-delete queue per subscriber.
//
//	b, err := broadcast.New(c, "config-updates")
//	...
//	sub, err := b.Subscribe(ctx) // queue "bcast.<uuid>", bound to the exchange
//	...
//	defer sub.Close(ctx)
//	err = b.Publish(ctx, update)
//	for d := range sub.C() { ... d.Ack(ctx) ... }
//
// It is a package of its own, not part of package simple, because it is
// the other messaging pattern: simple is point-to-point (one queue, each
// message taken once), broadcast is publish-subscribe (one queue per
// subscriber, each message copied to all).
//
// # Names and declarations
//
// They are Kombu's (kombu.common.Broadcast), so kelp and Python peers can
// share a broadcast: a durable fanout exchange named after the broadcast
// ([Exchange]); for each subscriber a durable, auto-delete queue named
// "bcast.<uuid4>", bound to it ([Queue]). Sharing with Kombu's Broadcast
// is tested both ways on RabbitMQ and Redis. [WithQueue] names the queue
// instead, shared by every subscriber using that name (they then take
// turns, as workers do); [WithUnique] makes such a name unique again
// ("<name>.<uuid4>").
//
// # Delivery guarantees
//
// A subscriber gets the messages published while its queue exists: from
// [Broadcast.Subscribe] on, not before. With no subscriber a message is
// dropped. On AMQP and memory the queue holds messages while the
// subscriber is slow or reconnecting (the connection re-declares it after
// a reconnect). On Redis, fanout goes over PUB/SUB by default, as in
// Kombu, so kelp and Python subscribers share broadcasts: PUB/SUB is not
// persistent, and a subscriber misses what is published while it is
// disconnected (once received, a message is kept in the subscriber's list
// until acked). With the Redis option fanout_durable=true, fanout is routed
// through Kombu's binding sets into each subscriber's list instead, which
// keeps messages while a subscriber is away but is not seen by Python
// subscribers (see transports/redis).
//
// # Ownership and concurrency
//
// A [Broadcast] is safe for concurrent use and starts no goroutines; each
// [Subscription] is a [conn.Consumer] belonging to the connection.
// [Subscription.Close] stops it and deletes its own queue, so that the
// connection stops re-declaring it after reconnects; [conn.Consumer.Stop]
// alone leaves the queue to the broker's auto-delete. Neither closes the
// connection.
//
// # Errors
//
// [ErrInvalidOption] for bad arguments; otherwise the [conn] errors,
// wrapped with %w.
package broadcast
