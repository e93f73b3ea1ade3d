// Package brokertest runs a package's tests on every broker kelp ships a
// driver for: the in-process memory broker always, RabbitMQ and Redis when
// they answer. It is test support, imported only by _test.go files.
//
// # Brokers
//
// [Brokers] lists the transports in a fixed order, which is also the
// order of the subtest names: "memory", "amqp", "redis". [Broker.Open]
// gives one test its [Target]:
//
//   - memory: a broker of its own, reachable by [Target.Connector] and by
//     the URL "memory://<label>-<random>" ([Target.URL]), closed when the
//     test ends;
//   - amqp: the RabbitMQ at $KELP_AMQP_URL, [DefaultAMQPURL] by default;
//   - redis: the Redis at $KELP_REDIS_URL, [DefaultRedisURL] by default, on
//     the database [Config.RedisDB] (a URL naming a higher database keeps
//     it), behind a global key prefix of the test's own; every key behind
//     it is deleted when the test ends.
//
// A network broker is probed once per test binary per URL. When it does
// not answer, the test is skipped with one line that names the URL
// (password redacted), the error and the variable to set; with KELP_CI=1
// ([EnvCI]) the test fails instead ([Unavailable]).
//
// [Run] runs a function as one subtest per broker, each checked for
// goroutine leaks. Packages whose tests loop over [Brokers] themselves
// call [Broker.Open] inside their subtests.
// [Kombu] and [KombuOn] ([RunKombu] for one subtest each) open RabbitMQ or Redis for a test whose peer is
// Python's Kombu, run with [Python], and skip when that interpreter lacks
// kombu (or redis-py); [StartPeer] runs such a peer that says "ready"
// before the test goes on, and kills it if the test ends first.
//
// # Ownership
//
// Everything a Target makes belongs to the test that opened it and is
// released by that test's cleanups: connections from [Target.Dial] are
// closed, queues from [Target.Queue] are deleted (on RabbitMQ; memory and
// Redis drop them with the broker and the key prefix), the memory broker
// is closed. The functions are safe to call from parallel tests.
//
// # Scope
//
// This package only finds brokers. Fault injection (cutting links,
// stopping nodes, alarms) lives in package integration, a heavier harness
// that the packages using brokertest must not depend on.
package brokertest
