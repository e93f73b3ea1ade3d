// Package beanstalk is a kelp transport on beanstalkd, the simple work
// queue, through github.com/beanstalkd/go-beanstalk. It registers the URL
// scheme "beanstalk" (beanstalk://host:port, see [ParseURL]); routing,
// prefetch, acknowledgements, TTL and dead-lettering come from package
// [github.com/kelpmq/kelp/transports/virtual], and this package is its
// store.
//
// # Mapping
//
//   - A queue is a tube (its name escaped for beanstalkd: letters, digits
//     and + / ; . ( ) _ - stay, other bytes become $XX). A job is the
//     JSON envelope of [virtual.MarshalEnvelope].
//   - Priorities: a message of priority p (clamped to the queue's
//     x-max-priority, so 0 in a queue without one) is put at beanstalkd
//     priority 255-p: lower numbers go first, so higher AMQP priorities
//     do.
//   - Fetch is reserve-with-timeout 0; a waiting consumer polls (1 ms
//     doubling up to Config.PollInterval), because a blocked reserve would
//     hold the one connection whose jobs it must also settle. The job's
//     stats (reserves > 1) set the redelivered flag, so a job released by
//     another process, or returned by beanstalkd after its consumer died
//     (TTR), is reported redelivered.
//   - Ack is delete; Requeue is release at the job's priority without
//     delay (the job keeps its id, and so its place before later jobs of
//     its priority).
//   - Dead-lettering: a message rejected without requeue, or expired, in a
//     queue with a dead-letter exchange is dead-lettered by the virtual
//     layer; in a queue without one its job is buried (Config.NoBury, URL
//     option bury=false, deletes it instead, as RabbitMQ drops it).
//     Buried jobs wait, out of every count, until [Connector.Kick] (or
//     beanstalkd's kick on the tube) makes them ready again: a kicked job
//     is delivered marked redelivered, and its expiry no longer applies.
//     Deleting the queue deletes them.
//   - Delayed delivery: a message with the header x-delay ([DelayHeader],
//     milliseconds, as RabbitMQ's delayed-message exchange reads it) is
//     put with beanstalkd's delay, rounded up to whole seconds: it becomes
//     ready, and counts in Len, only then. The delay applies in every
//     queue the message is routed to; a requeued message is not delayed
//     again.
//   - Size: a job (the envelope, about 200 bytes more than the body)
//     larger than the server's max-job-size (beanstalkd -z, 65535 bytes by
//     default, read at connect) is refused before it is sent: Publish
//     fails with a 311 CONTENT_TOO_LARGE [github.com/kelpmq/kelp/transports.Error],
//     which closes the channel and leaves the connection and every stored
//     message as they were.
//   - Leases: every job is put with time-to-run Config.TTR; the Connector
//     touches the jobs it holds every TTR/3, so a live consumer keeps its
//     jobs and a dead process's come back within TTR. Closing the server
//     connection (a crash) releases them at once.
//   - A job that is not a kelp envelope is buried, for a human to look at
//     with beanstalkd's tools, and the next one is delivered.
//   - Len is stats-tube current-jobs-ready (byte counts are unknown, so
//     max-length-bytes is refused); Purge reserves and deletes.
//
// # Topology lives in the process
//
// beanstalkd stores jobs and nothing else. Exchanges, bindings and queue
// options (priorities, TTL, limits, dead-lettering) are kept by the
// virtual Broker in the memory of the process that declared them. A
// publisher in a second process must declare the same exchanges, queues
// and bindings itself (conn's topology declare-and-replay does this for
// every process that declares what it uses); a publisher that only knows
// the default exchange reaches any tube by its queue name.
//
// # Concurrency, ownership, errors
//
// A Connector and its Conns and Channels are safe for concurrent use. The
// Connector keeps one server connection (commands are serialised on it,
// since jobs are settled on the connection that reserved them) and one
// goroutine touching held jobs while it has a live Conn. An I/O failure
// closes the server connection (beanstalkd releases its jobs, which are
// redelivered) and is reported as
// [github.com/kelpmq/kelp/transports.ErrConnLost]; the next command dials
// again. Configuration errors wrap [ErrInvalidConfig].
package beanstalk
