// Package transporttest is the conformance suite every kelp transport
// driver runs: one call to [Run] checks a driver against the contract of
// package transports, written down as tests.
//
// It plays the role testing/fstest plays for fs.FS: the SPI's comments say
// what a driver must do, and this package checks it the same way for every
// driver, so the memory transport, AMQP and Redis behave alike where
// package conn relies on them.
//
// # Use
//
// A driver's tests call Run with the [Features] it claims and a function
// that makes a [transports.Connector]:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, transporttest.Features{
//			ExchangeKinds: []route.Kind{route.Topic, route.Fanout},
//			FIFO:          true,
//			Confirms:      true,
//		}, func(t *testing.T) transports.Connector {
//			return mydriver.NewConnector(addr)
//		})
//	}
//
// The zero Features describes the minimal transport (direct and default
// exchange routing, declare/delete/purge, publish, consume, get, settle).
// Each flag adds the tests of one capability; tests of missing capabilities
// are skipped, and the skip message names the flag. A failing subtest is
// named after what it checks (TestConformance/Settle/DoubleAck), so run one
// with -run.
//
// # What the suite checks
//
// The groups, in order: Conn (connect, Close idempotent, Done and Err,
// channels ending with their connection), Exchange (each kind, passive,
// redeclare, unsupported kinds, delete), Queue (declare, server-named,
// passive counts, delete conditions, purge), Message (round trips of bodies,
// properties and headers; ownership of deliveries), Routing (direct, topic,
// fanout, headers, default exchange, unbind, unroutable), Consume (prefetch
// exactness, FIFO, round robin, shared queues, cancel, requeue on close,
// no-ack, get, exclusive consumers), Settle (ack, nack, reject, multiple, 406 on unknown
// tags), Confirms and Returns, QueueFeatures (priorities, TTL, expiry,
// max-length, dead-lettering, exclusive and auto-delete queues),
// Capabilities (exchange bindings, recover, persistence, block
// notifications), Faults (dropped connections, through [Hooks]) and
// Concurrency (several channels publishing and consuming at once).
//
// Channel-level broker errors are checked by the SPI's rule: the call fails
// with a [*transports.Error] of the right code, or, for a protocol that
// reports it asynchronously (AMQP's publish and ack), the Channel closes
// soon after; either way the Channel's Err wraps
// [transports.ErrChannelClosed] and the code.
//
// # Header values a transport must preserve
//
// Every transport hands back, with the same Go type and value: string,
// int64 (including values a float64 cannot hold exactly), float64 (with a
// fraction), bool, nil (AMQP void), nested route.Table (map[string]any is
// accepted back as the same table) and []any of these. []byte and time.Time
// (to the second) are checked only with [Features.BinaryHeaders] and
// [Features.TimeHeaders], since a transport that carries headers as JSON
// cannot keep them apart from strings. The suite never publishes other
// integer widths, so a driver may widen them to int64.
//
// Every basic property of [transports.Properties] must round-trip, the
// Timestamp to the second. UserID is checked only when [Features.UserID]
// names the connection's user.
//
// # Brokers, names and cleanup
//
// Each test calls the newConnector function once and may connect several
// times through the result. Queue and exchange names carry a random suffix,
// so tests never see each other's state on a shared broker, and everything a
// test declares is deleted when it ends, through a connection of its own.
//
// # Concurrency, time and leaks
//
// Tests run one after another. The suite drives each Channel from one
// goroutine at a time and drains every Go channel a driver hands out from a
// goroutine of its own, as package conn does. Every wait ends when the
// test's context ([Features.Timeout]) does; the suite polls only for what
// no signal reports (a broker deleting an expired queue, a queue count
// catching up with asynchronous publishes), and waits a fixed
// time only to conclude that something did not happen ([Features.Quiet]) or
// for a message TTL to pass.
//
// Each group checks, unless [Features.SkipLeakCheck] is set, that no
// goroutine started during it outlives the connections it opened. Drivers
// should also call goleak.VerifyTestMain in their TestMain.
package transporttest
