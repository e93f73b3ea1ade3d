// Package kelp is a messaging framework for Go: what Kombu is for Python,
// built the Go way. This root package holds documentation only; the code
// lives in the packages listed below.
//
// kelp gives one idiomatic API over pluggable transports (AMQP 0-9-1 through
// RabbitMQ, Redis wire-compatible with Kombu, an in-process memory broker,
// and more on a shared virtual-transport layer). Messages are serialized and
// compressed with Kombu's content types and header names, so Go services and
// Python services using Kombu or Celery can share queues.
//
// # Shape
//
// Each connection and each channel is a goroutine actor that alone owns its
// socket or client; callers send it requests bounded by their
// context.Context. A multiplexer fans the deliveries of every channel of a
// consumer into one Go channel, so a program waits on many queues with a
// plain for-range or a select with a timeout.
//
// # Packages
//
//   - conn: the user API: self-healing connections (Dial, Open), producers
//     with pipelined publisher confirms, channel-native consumers (one Go
//     channel for many queues, surviving reconnects), Serve with handlers,
//     deliveries settled exactly once, Get, Ensure, MaybeDeclare.
//   - mux: the fair fan-in behind a consumer's single Go channel.
//   - simple, pool, broadcast, rpc, pidbox, compat/carrot: Kombu's toolkit
//     (SimpleQueue, connection pools, Broadcast, request/reply, the pidbox
//     mailbox, carrot's API) on top of conn.
//   - transports/amqp, transports/redis, transports/sql,
//     transports/filesystem, transports/beanstalk: the bundled drivers;
//     transports/all imports them all.
//   - route: exchanges, queues and bindings as plain values (JSON-friendly,
//     like Kombu's declarations), and the routing matchers (direct, a topic
//     trie with AMQP semantics, fanout, headers).
//   - codec: serializers keyed by content type and compressors keyed by the
//     "compression" header, with Kombu's names; accept lists; size limits.
//   - transports: the driver SPI (interfaces only), the URL-scheme registry
//     and the error signals, in the manner of database/sql/driver.
//   - transports/virtual: the shared emulation layer for brokers without
//     AMQP routing (exchange tables, prefetch, unacked bookkeeping, TTL,
//     dead-lettering).
//   - transports/memory: an in-process broker on the virtual layer with real
//     AMQP semantics and deterministic fault injection: the embedded default
//     and the test double.
//   - transports/transporttest: the conformance suite every driver passes.
//   - internal/actor: the goroutine-actor runtime (bounded mailboxes,
//     ctx-bounded calls, supervised restart with backoff and full jitter).
//
// # Kombu to kelp
//
// The concepts map one to one; the Go names follow Go conventions.
//
//	Kombu                                   kelp
//	kombu.Exchange(name, type=...)          route.Exchange / route.NewExchange(name, kind)
//	kombu.Queue(name, exchange, key)        route.Queue / route.NewQueue(name, route.Bind(ex, key))
//	kombu.binding(exchange, routing_key)    route.Binding / route.Bind
//	Queue(message_ttl=, expires=, ...)      route.Queue fields; x-* mapping in Queue.DeclareArguments
//	exchange types direct/topic/fanout/...  route.Kind: route.Direct, route.Topic, route.Fanout, route.Headers
//	kombu.serialization.register / loads    codec.Registry.RegisterSerializer / Registry.Decode
//	kombu.compression                       codec.Compressor, keyed by the "compression" header value
//	Consumer(accept=['json'])               codec.NewAccept("json")
//	ContentDisallowed                       codec.ErrContentDisallowed
//	kombu.transport.virtual                 transports/virtual
//	memory:// transport                     transports/memory (memory:// URLs)
//	Transport class + TRANSPORT_ALIASES     transports.Driver + transports.Register(scheme, driver)
//	amqp ChannelError / ConnectionError     *transports.Error, matched by reply code (errors.Is(err, transports.ErrNotFound))
//	recoverable connection errors           transports.ErrConnLost
//	Connection(url) / ensure_connection     conn.Dial(ctx, url); reconnects are automatic
//	Producer.publish(body, ...)             conn.Connection.Producer(...).Publish(ctx, body, opts...)
//	Consumer(queues, callbacks) + drain     conn.Connection.Consume(ctx, queues) and Consumer.C()
//	ConsumerMixin                           conn.Connection.Serve(ctx, queues, handler)
//	Message.ack / reject / requeue          conn.Delivery.Ack / Reject / Requeue
//	SimpleQueue, pools, Broadcast, pidbox   simple, pool, broadcast, pidbox
//
// docs/kombu.md in the repository maps every Kombu feature.
//
// Kombu's topic matching on virtual transports lets "*" span dots and does
// not let "a.#" match "a"; kelp follows AMQP everywhere (see route).
//
// The command-line tool is cmd/kelp (demo, publish, consume, bench).
package kelp
