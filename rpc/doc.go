// Package rpc is request/reply over kelp: a [Client] whose
// [Client.Call] publishes a request and waits for its reply, and a
// server, [Serve], that answers requests with a [Handler]. On the wire it
// is Kombu's RPC convention, so Python peers take either side: requests
// carry the reply-to and correlation_id properties, and replies are sent
// as kombu.common.send_reply sends them ([Reply]): to the default
// exchange with the request's reply-to as routing key, its correlation
// id, and the serializer of its content type. Interop with Kombu clients
// and servers is tested both ways on RabbitMQ and Redis.
//
//	cl, err := rpc.NewClient(ctx, c, rpc.ClientConfig{})
//	...
//	defer cl.Close(ctx)
//	var sum int
//	err = cl.Call(ctx, "adder", []int{1, 2}, &sum)
//
// # Client
//
// On RabbitMQ (a connection dialed with amqp:// or amqps://) a [Client]
// uses direct reply-to: it consumes the pseudo-queue [DirectReplyTo]
// (no-ack) on a channel of its own, pinned with [conn.Connection.Pin],
// and publishes its requests on that same channel with reply-to
// "amq.rabbitmq.reply-to", as RabbitMQ requires. No reply queue is
// declared. Elsewhere, or with [ClientConfig.ReplyQueue] or
// [ClientConfig.NoDirectReplyTo], it consumes (no-ack) a reply queue of
// its own: non-durable, exclusive and auto-delete, named
// "kelp.rpc.reply.<uuid>" unless ReplyQueue says otherwise.
//
// One goroutine reads the replies and hands each to the call waiting for
// its correlation id; replies nobody waits for (a call that gave up, a
// stray) are dropped. Any number of calls may be in flight at once.
// [Client.Close] fails the calls in flight with [ErrClosed], stops the
// subscription and its goroutine, and deletes the reply queue if there is
// one.
//
// Every call is bounded by its ctx: when ctx ends first, Call returns an
// error matching [ErrNoReply] and ctx's error ([conn.ErrTimeout] for a
// deadline). With a deadline the request also carries it as its
// expiration, so the broker drops requests nobody waits for any more.
//
// Reconnects. A direct reply-to address names the channel the request
// went out on, so a lost connection loses the replies of the calls in
// flight: they fail at once with [ErrReplyLost] (the request may or may
// not have been handled) and may be retried; the next call pins a new
// channel once the connection is back (waiting for it, bounded by its
// ctx). With a reply queue, the queue is declared and consumed again
// after a reconnect; replies sent while the connection was down are lost
// with the exclusive queue, and their calls end with their ctx.
//
// The server side answers direct reply-to requests of any client (kelp's
// or Python's) as any others: the address is just a routing key on the
// default exchange.
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
// Errors match this package's sentinels, [ErrClosed], [ErrNoReply],
// [ErrReplyLost] and [ErrRemote], or conn's ([conn.ErrNacked], [conn.ErrDecode],
// [conn.ErrContentDisallowed], ...) with [errors.Is], and wrap their
// cause.
package rpc
