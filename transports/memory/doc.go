// Package memory is kelp's in-process broker: the embedded default
// transport and the test double of every kelp program (what
// net/http/httptest is for HTTP). It is a real transport with AMQP 0-9-1
// semantics, built on package virtual, not a mock.
//
// # Getting a broker
//
// [New] makes an isolated [Broker]; tests make one each and dial it with
// [Broker.Connector]:
//
//	b := memory.New()
//	defer b.Close(ctx)
//	c, err := conn.Open(ctx, b.Connector(), conn.Config{})
//
// The package also registers the URL scheme "memory" (import it for its
// side effect, or import transports/all): "memory://" reaches a
// process-wide default broker and "memory://name" a process-wide broker of
// that name, created on first use (see [Shared]), so that programs and
// tests configured by URL can pick isolated brokers too. A memory URL has
// no user, port, path or query options; any is an error wrapping
// [transports.ErrInvalidURL].
//
// # Semantics
//
// Everything package virtual emulates, exactly: direct, topic (AMQP
// matching: '*' one word, '#' zero or more), fanout and headers exchanges,
// exchange-to-exchange bindings, the default exchange, passive declares and
// redeclaration checks with RabbitMQ's codes and texts, server-named,
// exclusive and auto-delete queues, auto-delete exchanges, exact prefetch,
// ack/nack/reject with multiple and requeue, basic.get, basic.recover,
// publisher confirms, mandatory returns, message TTL (queue and per
// message), x-expires, max-length and max-length-bytes with every overflow
// mode, dead-lettering with x-death, and priorities (x-max-priority, every
// level kept apart).
//
// Messages live as long as the Broker: they outlive connections (a new
// connection finds them) but not the process. Durable and DeliveryMode are
// recorded and compared on redeclaration but change nothing else.
// Message bodies and headers are not copied on delivery: a receiver owns
// what it is handed, and a message routed to several queues is copied for
// each. Headers keep their Go values (a []byte stays []byte, a time.Time
// stays time.Time).
//
// Performance: a publish or a delivery allocates nothing beyond the
// delivery itself once buffers have grown; there is one goroutine per
// consumer and no per-message goroutine or timer; each queue has its own
// lock and each Broker its own state, so brokers never contend.
//
// # Fault injection
//
// The Broker's exported methods inject faults deterministically, for tests
// of reconnects and flow control: [Broker.DropConnections] (all, or one by
// its [transports.ConnectOptions].Name) kills connections as a network
// failure would and requeues their unsettled deliveries;
// [Broker.RefuseConnections] makes new connections fail until lifted;
// [Broker.CancelConsumers] cancels a queue's consumers from the broker
// side; [Broker.Block] and [Broker.Unblock] pause publishing with
// [transports.BlockNotifier] events; [Broker.NackPublishes] makes the next
// publishes fail with a nack. Each returns once its effect is complete, so
// tests need no sleeps.
//
// Inspection: [Broker.QueueStats] (ready, unacknowledged and consumer
// counts), [Broker.HasQueue], [Broker.HasExchange], [Broker.HasBinding],
// [Broker.HasExchangeBinding] and [Broker.Connections].
//
// # Concurrency
//
// A Broker and its connections are safe for concurrent use; channels follow
// the SPI's one-caller-at-a-time rule. Goroutines: one pump per consumer
// and one forwarder per channel in confirm mode (or after Returns), ended
// by Cancel and Close; queue timers stop when the queue or the Broker goes.
package memory
