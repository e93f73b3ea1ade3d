// Package benchmarks measures kelp against the raw client libraries on the
// same broker in the same run, so that its speed is stated as a ratio, not
// as an absolute number that a noisy machine cannot reproduce. It is a
// module of its own (github.com/kelpmq/kelp/benchmarks, with a replace
// directive back to the repository root), so that the peers' dependencies
// never reach kelp's go.mod.
//
// # The harness
//
// A [Target] is one implementation on one transport: [Kelp] (package conn,
// on any URL), the raw baselines [AMQP091] and [GoRedis], written the way
// an expert would on the raw library, and the peers [WatermillGoChannel],
// [WatermillAMQP] and [Kombu]. Each opens a [Session], the few primitives
// (declare a queue, publish, fill, consume and ack) from which [Run]
// builds every scenario of a [Workload]: publish, consume+ack, end to
// end, latency at a fixed rate, topic routing. [Brokers] lists the
// matrix of issue 7 (adding a transport is one more [Broker]), [RunAll]
// runs it one run at a time, and [WriteMarkdown] and [WriteCharts] turn
// the [Result]s into BENCHMARKS.md and SVG charts ([BarChart]); the
// command cmd/benchreport does all of it in one go (see README.md).
//
// The go test benchmarks compare kelp with amqp091-go through
// [ConfirmPublisher] (publisher confirms, windowed and shared by
// concurrent publishers) and [Fill].
//
// # Concurrency, ownership and errors
//
// A ConfirmPublisher and every [Publisher] are safe for concurrent use;
// other Session methods are called by the harness from one goroutine. A
// Session owns its connections and any goroutine it starts (a consumer's,
// the go-redis pipelining writer) and ends them in the stop function of
// Consume or in Close; a ConfirmPublisher starts none, and its amqp091
// channel stays the caller's to close. [Run] never returns an error: a
// failed run is recorded in [Result.Err]; [ErrUnsupported] marks a
// workload an implementation does not do, and [RunAll] leaves it out.
// Errors wrap the client's error or ctx's error; [ErrNacked] reports a
// publish the broker refused.
package benchmarks
