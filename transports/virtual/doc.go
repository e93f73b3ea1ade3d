// Package virtual emulates an AMQP 0-9-1 broker on top of a plain message
// store, for transports whose server has no AMQP routing of its own: the
// in-process broker (package memory) now; Redis, SQL databases, the
// filesystem and beanstalkd later. It is kelp's counterpart of Kombu's
// kombu.transport.virtual, with real AMQP semantics where Kombu
// approximates.
//
// A driver supplies a [Backend] (the store) and gets a [Broker], whose
// [Broker.Connect] returns a [*Conn] implementing [transports.Conn]; its
// channels ([*Channel]) implement [transports.Channel] and the optional
// [transports.Confirmer], [transports.Returner], [transports.ExchangeBinder]
// and [transports.Recoverer]; [*Conn] implements [transports.BlockNotifier].
//
// # What the Broker does
//
//   - Exchanges of every kind (direct, topic with AMQP matching, fanout,
//     headers), routed through package route's matchers, plus
//     exchange-to-exchange bindings (cycles allowed, each queue receives a
//     message once) and internal exchanges. The default exchange "" routes to
//     the queue named by the routing key; amq.direct, amq.fanout, amq.topic,
//     amq.headers and amq.match exist from the start.
//   - Declarations as RabbitMQ answers them: passive declares (404 when
//     missing), redeclaration with another definition (406 "inequivalent
//     arg"), the reserved "amq." prefix (403), server-named queues
//     ("amq.gen-..."), exclusive queues owned by one connection (405 for
//     the others) and deleted with it, auto-delete queues (deleted when
//     their last consumer goes) and exchanges (when their last binding
//     goes), delete with if-unused / if-empty, purge.
//   - Consumption: one pump goroutine per consumer claims messages while the
//     consumer has prefetch credit and hands them to its Deliveries channel.
//     Prefetch is exact (per consumer, or per channel with Qos Global):
//     never more unsettled deliveries than the limit. Delivery tags are
//     per-channel uint64 sequences mapped to the store's claims. Ack, Nack
//     and reject work with multiple; requeued messages return to the head
//     of their queue marked redelivered; an unknown tag is a 406 that
//     closes the channel. When a channel closes or its connection dies every
//     unsettled delivery is requeued. Get (basic.get), Cancel, Recover and
//     broker-side cancellation are there too.
//   - Per-queue features, generic over any Backend: message TTL (queue
//     x-message-ttl and per-message Expiration, checked when a message
//     reaches the head, with one timer per queue so that expiry happens even
//     without consumers), max-length and max-length-bytes with overflow
//     drop-head, reject-publish and reject-publish-dlx, dead-lettering
//     (rejected, expired, maxlen) to the queue's dead-letter exchange and
//     routing key with RabbitMQ's x-death header and cycle rule, x-expires,
//     and priorities (x-max-priority), which the Backend serves natively.
//     One difference from RabbitMQ: an x-message-ttl of 0 expires every
//     message, where RabbitMQ still hands it to a consumer that is ready at
//     that instant (the Broker cannot tell "at once" from "soon").
//   - Publisher confirms (a store write that succeeded is an ack; a
//     reject-publish overflow is a nack) and mandatory returns (inside the
//     Confirmation in confirm mode, on Returns otherwise).
//
// Errors are [*transports.Error] values with AMQP codes and RabbitMQ's
// reply texts. As the SPI requires, a channel-level error closes the
// channel and a connection-level one the connection; a failure of the
// Backend (other than a missing queue) is reported as
// [transports.ErrConnLost], because the store is the virtual transport's
// connection; a store call cut short by its ctx closes the channel (the
// error wraps both ctx's error and [transports.ErrChannelClosed]), since the
// store may or may not have done it.
//
// # Goroutines
//
// The Broker starts one goroutine per consumer (its pump), one per channel
// in confirm mode and one per channel whose Returns was called (each
// forwards to a Go channel from an in-memory queue, so a publisher never
// blocks on a slow receiver), and timers (time.AfterFunc: one per queue
// with TTL messages, one per queue with x-expires). Over a [BatchPutter]
// store a channel that publishes has a writer goroutine, and over a
// [BatchAcker] store a channel that acks has a settler goroutine; both
// are stopped by the channel's shutdown after they have stored or settled
// what they were handed (bounded by Close's ctx). Cancel, Channel.Close
// and Conn.Close wait for the goroutines they end; Broker.Close stops the
// timers.
//
// # Topology: in the process, bindings optionally in the store
//
// Exchanges, queue definitions and bindings are kept by the Broker in
// memory, as Kombu's virtual transport keeps exchange declarations; only
// messages live in the Backend. For the in-process broker that is all
// there is. A store shared by several processes (Redis, SQL) also
// implements [Catalog], which keeps queue bindings in the store: the
// Broker writes bindings through to it and routes every publish by the
// bindings it lists (rebuilding its router only when they change), so a
// publisher in one process reaches queues bound in another, Python Kombu
// processes included (Redis keeps them in Kombu's _kombu.binding.<exchange>
// sets). Queue options (TTL, limits, dead-lettering), exclusivity and
// x-expires remain per process: they apply in the processes that declared
// the queue.
//
// Optional store interfaces, each discovered by type assertion with a
// generic fallback: [Reserver] (a line of waiting fetchers, for strict
// round robin among consumers), [Expirer] (atomic expiry of a queue's
// head), [Catalog] (shared bindings), [Broadcaster] (fanout exchanges
// broadcast by the store itself, as Kombu's Redis transport does over
// PUB/SUB), and the batch interfaces of stores behind a network round
// trip: [BatchPutter] (publishes are queued for a writer that stores all
// those of the moment at once and then confirms them, in order),
// [BatchFetcher] (a consumer claims up to its free prefetch credit at
// once) and [BatchAcker] (acks give their prefetch credit back at once
// and are handed to a settler that settles all those of the moment at
// once). With the asynchronous publishes a channel still
// applies its operations in order: every operation that reads or changes
// the store (declare, bind, purge, delete, get, consume, and a publish
// that must go the synchronous way) first waits for the publishes queued
// before it.
//
// # The Backend contract and how stores map onto it
//
// A [Backend] keeps named queues of [Envelope] values. Consumption is
// claim-then-settle: [Backend.Fetch] claims the next message (highest
// priority first, FIFO within a priority), and the Broker later settles
// the [Claim] with [Backend.Ack] (gone) or [Backend.Requeue] (ready again,
// at the head). A claim is invisible to other fetchers until settled, so
// a crash between delivery and ack never loses a message in a store that
// keeps claims durably. Blocking consumption is Fetch with wait true.
//
// Memory (package memory): a map of queues, each with its own mutex and
// one ring buffer per priority holding envelopes by value. A claim is just
// the envelope taken out (Receipt nil); Ack does nothing; Requeue pushes to
// the front. A blocked Fetch joins a FIFO list of waiters and Put hands a
// message directly to the first one, so idle consumers take turns and
// nothing polls.
//
// Redis (Kombu's layout): a queue is a list per priority step (the bare
// name for step 0, name+"\x06\x16"+step otherwise); Put is LPUSH of Kombu's
// JSON envelope (body base64, properties with delivery_info and a uuid
// delivery_tag, the priority clamped to the queue's steps, Expires as an
// extra property); Fetch is a Lua script that pops the oldest element of
// the highest step and records it in the unacked hash and unacked_index
// sorted set in the same atomic step (no window in which a crash loses
// it), with the delivery tag as Receipt; Ack is HDEL+ZREM; Requeue is a Lua
// script that moves the entry back with RPUSH (the consuming end) and the
// redelivered flag set; Len is LLEN over the steps (Bytes -1, so
// max-length-bytes is refused); waiting is BLMOVE of the queue onto itself
// (a no-op that blocks until the list is non-empty; Redis serves blocked
// clients FIFO) followed by the claiming script; the visibility timeout
// restore (unacked_mutex, default 3600 s) requeues claims of dead
// processes.
//
// SQL (PostgreSQL, MySQL 8, SQLite): a messages table (queue, priority,
// id, envelope columns, lease_until). Fetch is SELECT ... ORDER BY priority
// DESC, id FOR UPDATE SKIP LOCKED LIMIT 1 and an UPDATE setting a lease,
// with the row id as Receipt; Ack deletes the row; Requeue clears the lease
// (and keeps the id, so the message keeps its place); expired leases are
// ready again. Waiting uses LISTEN/NOTIFY on PostgreSQL and bounded,
// backed-off polling elsewhere. Len is COUNT and SUM(length(body)).
//
// Filesystem: a directory per queue, a file per message named so that a
// directory listing sorts by priority then time; Fetch claims by renaming
// the file into a processing directory (atomic, so two processes never
// claim the same file), with the new path as Receipt; Ack removes it;
// Requeue renames it back under a name that sorts first. Waiting is
// polling with backoff (or inotify where available).
//
// beanstalkd: a tube per queue; Fetch is reserve (reserve-with-timeout 0
// when not waiting) with the job id as Receipt, beanstalkd's priorities
// (inverted) carry the message priority; Ack is delete, Requeue is release
// with priority 0 so the job is next; Len is stats-tube (Bytes -1).
package virtual
