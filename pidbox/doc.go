// Package pidbox is Kombu's process mailbox (kombu.pidbox), the remote
// control channel of Celery workers, on kelp: a [Mailbox] sends commands
// to named nodes and collects their replies, and a [Node] answers them.
// It is wire-compatible with kombu.pidbox, so kelp and Python peers
// command each other.
//
//	m, err := pidbox.New(c, "celery", pidbox.Config{Type: route.Fanout})
//	...
//	replies, err := m.MultiCall(ctx, "ping", nil, 0) // until ctx's deadline
//
// # Names
//
// For a namespace ns: the mailbox exchange "<ns>.pidbox" (non-durable,
// direct by default as in Kombu, fanout as Celery uses it:
// [Config.Type]); the reply exchange "reply.<ns>.pidbox" (direct,
// non-durable); a node's queue "<hostname>.<ns>.pidbox" (non-durable,
// auto-delete, bound with an empty routing key); a caller's reply queue
// "<oid>.reply.<ns>.pidbox" (non-durable, auto-delete, expiring after 10
// s unused), bound to the reply exchange with the oid. See
// [Mailbox.Exchange], [Mailbox.ReplyExchange], [Mailbox.NodeQueue] and
// [Mailbox.ReplyQueue].
//
// # Wire format
//
// A command is an object with Kombu's keys: method, arguments (the
// keyword arguments, an object), destination (a list of hostnames or
// null), pattern and matcher (null, or a pattern with "glob" or "pcre"),
// and, for calls, ticket (a UUID) and reply_to ({exchange, routing_key}).
// It carries the headers clock (a Lamport clock, [Clock]) and expires
// (Unix seconds as a float when the caller stops waiting, or 0). A reply
// is {hostname: result}, or {hostname: {"error": text}} for a failure,
// with the headers ticket and clock. Requests and replies use
// [Config.Serializer], JSON by default, and are accepted by
// [Config.Accept], JSON only by default, as in Kombu.
//
// # Calls
//
// [Mailbox.Cast] and [Mailbox.Broadcast] send and return. [Mailbox.Call]
// (to named nodes) and [Mailbox.MultiCall] (to all, or those matching
// [WithPattern]) also collect replies, until the expected number arrived
// or the reply window closes: at ctx's deadline, or after
// [Config.Timeout] (1 s, Kombu's default) when ctx has none. The window
// closing is how a broadcast call normally ends, so MultiCall reports no
// error for it; Call reports the nodes that stayed silent with
// [ErrNoReply]. A node's error is a [Reply] whose Err is a
// [*RemoteError].
//
// The mailbox consumes its reply queue (no-ack) from its first call until
// [Mailbox.Close], with one goroutine that hands replies to calls by
// ticket and drops replies nobody waits for. Kombu instead consumes
// during each call and deletes the queue afterwards on virtual
// transports; kelp deletes it on Close. Any number of calls may run at
// once.
//
// # Nodes
//
// [Mailbox.Node] makes a node; [Node.Handle] registers a [Handler] per
// method; [Node.Listen] declares the node's queue, consumes it (no-ack)
// and returns a [Listener] whose goroutine runs commands one at a time,
// in order, until [Listener.Stop]. As in Kombu, a node runs a command
// when its hostname is in the destination, or matches the pattern with
// the matcher, or neither is given; it does not drop commands whose
// expires header has passed (Kombu's nodes do not either). An unknown
// method and a handler's error or panic are answered as error replies;
// for casts they are logged to [Config.Logger].
//
// # Transports
//
// The mailbox works on every transport; its interop with Python's
// kombu.pidbox is tested both ways on RabbitMQ and Redis. On Redis a
// fanout mailbox travels over PUB/SUB, as in Kombu: a command reaches the
// nodes subscribed when it is sent, and is lost for the others.
//
// # Concurrency and errors
//
// Mailbox, Node and Listener are safe for concurrent use. Errors match
// [ErrInvalidConfig], [ErrInvalidCall], [ErrNoReply], [ErrClosed] (which
// match conn's corresponding sentinels) or conn's errors for what the
// broker refused, with [errors.Is].
package pidbox
