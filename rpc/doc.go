// Package rpc is request/reply over kelp: a [Client] whose
// [Client.Call] publishes a request and waits for its reply, and a
// server, [Serve], that answers requests with a [Handler]. On the wire it
// is Kombu's RPC convention, so Python peers take either side: requests
// carry the reply-to and correlation_id properties, and replies are sent
// as kombu.common.send_reply sends them ([Reply]): to the default
// exchange with the request's reply-to as routing key, its correlation
// id, and the serializer of its content type.
//
//	cl, err := rpc.NewClient(ctx, c, rpc.ClientConfig{})
//	...
//	defer cl.Close(ctx)
//	var sum int
//	err = cl.Call(ctx, "adder", []int{1, 2}, &sum)
//
// # Client
//
// A [Client] consumes (no-ack) a reply queue of its own: non-durable,
// exclusive and auto-delete, named "kelp.rpc.reply.<uuid>" unless
// [ClientConfig.ReplyQueue] says otherwise. One goroutine reads it and
// hands each reply to the call waiting for its correlation id; replies
// nobody waits for (a call that gave up, a stray) are dropped. Any number
// of calls may be in flight at once. [Client.Close] fails the calls in
// flight with [ErrClosed], stops the consumer and its goroutine, and
// deletes the queue.
//
// Every call is bounded by its ctx: when ctx ends first, Call returns an
// error matching [ErrNoReply] and ctx's error ([conn.ErrTimeout] for a
// deadline). With a deadline the request also carries it as its
// expiration, so the broker drops requests nobody waits for any more.
//
// Kelp does not use RabbitMQ's direct reply-to (amq.rabbitmq.reply-to)
// on the client side: it requires consuming and publishing on the same
// AMQP channel, and package conn runs consumers and publishes on separate
// channels by design. The per-client reply queue works on every
// transport. The server side answers direct reply-to requests of other
// clients (Python's, say) as any others: the address is just a routing
// key on the default exchange.
//
// Across a reconnect the reply queue is declared again and consumed
// again; replies sent while the connection was down are lost with the
// exclusive queue, and their calls end with their ctx.
//
// # Server
//
// [Serve] consumes requests with [conn.Connection.Serve] (same options,
// same draining when its ctx ends) and calls the [Handler] for each. The
// result is sent with [Reply]; an error, or a panic, with [ReplyError]:
// the body {"error": text} and the header [HeaderError], which a kelp
// client turns into a [*RemoteError]. Then the request is acknowledged;
// if the reply could not be published, the request is requeued once, so
// a handler may see a request twice. A request without reply-to is a
// cast: nothing is sent back.
//
// # Errors
//
// Errors match this package's sentinels, [ErrClosed], [ErrNoReply] and
// [ErrRemote], or conn's ([conn.ErrNacked], [conn.ErrDecode],
// [conn.ErrContentDisallowed], ...) with [errors.Is], and wrap their
// cause.
package rpc
