// Package integration holds kelp's end-to-end tests of the user API
// (package conn) against real brokers, and the harness they share: a table
// of transports with their fault controls, a TCP fault proxy, and a
// publish/consume workload that checks kelp's promise — nothing confirmed
// is lost, nothing hangs, nothing leaks — while faults are injected.
//
//	go test -race ./integration/...
//
// # Brokers
//
// [Run] runs a test once per [Target]: the in-process memory broker
// always, then RabbitMQ at [DefaultAMQPURL] (or $KELP_AMQP_URL). A broker
// that cannot be reached skips its subtest with one line saying so;
// with KELP_CI=1 (set by .ci/run) it fails instead. Each subtest gets a
// [Broker]: its connector, unique durable queues deleted at the end, a
// ready-message count, and its faults:
//
//   - [Broker.CloseConnections]: the broker closes connections by their
//     connection name (rabbitmqctl close_connection on RabbitMQ);
//
//   - [Broker.Stop] and [Broker.Start]: a node restart (rabbitmqctl
//     stop_app/start_app, which every client of the machine's RabbitMQ
//     notices: keep the downtime short). The broker is always started
//     again when the test ends, even when it fails. Stopping a shared
//     broker needs KELP_DISRUPTIVE=1 ([Disruptive]); such tests are named
//     TestDisruptive* and .ci/run runs them serially, apart from the rest.
//     The shared Redis is never restarted; [OpenRedisServer] gives a
//     Broker on a private redis-server (internal/redisproc, from a
//     _test.go file), whose Stop and Start stop and start that server,
//     and whose [RawRedis.Server] also kills it;
//
//   - [Broker.Link]: a network path with its own connector, which can be
//     cut, black-holed (so that only heartbeats notice) and taken down
//     (connections refused). On RabbitMQ it is a [Proxy] on loopback; on
//     memory, which has no network, the same faults act on the whole test
//     broker and Hold is unsupported.
//
//   - [Broker.Alarm]: a resource alarm that blocks publishers
//     (connection.blocked); on RabbitMQ the memory high watermark is set
//     to a tiny value and the value read first is restored, so it is
//     disruptive too;
//
//   - [NetLink]: the Links of network transports also reset connections
//     (TCP RST), shape the path ([Shape]: latency, jitter, bandwidth) and
//     cut a connection after exactly n more bytes, mid-frame
//     ([Proxy.CutAfter]).
//
// Faults needing rabbitmqctl skip (or fail under KELP_CI=1) when it is
// not on PATH, as with a remote broker.
//
// # Workload
//
// [Stream] publishes messages with unique ids from several goroutines
// through confirmed, retried publishes on one [conn.Connection] while a
// consumer acks them; [Flow.WaitAcked] and [Flow.WaitFor] time faults to
// its progress, and [Flow.Finish] checks the invariants into a [Result]
// ([Result.Check] fails the test). [Watch] follows a connection's states
// through conn.Config.OnStateChange, so tests wait for signals, never for
// time.
//
// # Scenario matrix and figures
//
// The matrix (matrix_test.go) runs every fault on every transport at
// moments drawn from a seeded source: [Seed] logs the seed, KELP_SEED
// replays it, and [Rand] derives each subtest's draws from it, the
// subtest's name and its repetition (go test -count). KELP_SOAK=1
// ([Soak]) runs longer streams with more faults. [Figures] collects what each scenario observed and logs a
// summary (scenarios, faults, messages, lost, duplicates, time to recover
// p50/p99); KELP_REPORT names a file that receives it as Markdown rows.
//
// # Ownership and goroutines
//
// Everything the harness makes belongs to the test it was made for and is
// closed by that test's cleanups: connections ([Open]), proxies, queues,
// a stopped broker. [Run] checks every subtest for leaked goroutines with
// goleak ([NoLeaks]); the package's TestMain checks the whole run. A
// [Proxy] owns one goroutine accepting and two per forwarded connection,
// ended by [Proxy.Close]. A [Flow] owns its publishers and its consumer,
// ended by [Flow.Finish].
//
// # Errors
//
// Helpers that take a testing.TB fail the test themselves. Methods without
// one return errors that wrap the cause (ctx's error when a wait ends);
// [ErrProxyClosed] reports a wait on a closed [Proxy].
package integration
