// Package filesystem is a kelp transport that keeps queues in a directory
// tree: a directory per queue, a file per message, bindings and exchange
// declarations in control directories. Processes on one machine (or on
// machines sharing a POSIX file system with atomic rename) that open the
// same directory exchange messages with no broker. It is Kombu's
// filesystem transport idea, made safe: every write is atomic, every claim
// is a rename, and the claims of a dead process come back.
//
// It registers the URL schemes "file" and "filesystem" (see [ParseURL]):
//
//	conn.Dial(ctx, "file:///var/lib/kelp")
//
// or explicitly: [NewConnector] with a [Config], then conn.Open. Routing,
// prefetch, acknowledgements, TTL, dead-lettering and the rest of AMQP's
// model come from package [github.com/kelpmq/kelp/transports/virtual];
// this package is its store.
//
// # Layout
//
// Under the root directory (Config.Dir):
//
//	queues/<queue>/                ready messages, one file each
//	queues/<queue>/<pp>-<k><stamp>-<rand>-<size>.msg
//	queues/<queue>/claimed/<...>.<owner>   claimed (unacked) messages
//	queues/<queue>/options.json    {"name": ..., "max_priority": ...}
//	bindings/<exchange>/<hash>.json  one queue binding each: {"queue","key","args"}
//	exchanges/<exchange>.json      an exchange declaration (route.Exchange as JSON)
//	leases/<owner>                 a live process's lease (its mtime is renewed)
//	tmp/                           files being written (then renamed into place)
//	trash/                         deleted queues, removed right after the rename
//	corrupt/                       message files that could not be decoded
//
// Names are escaped: ASCII letters, digits, '-', '_' and '.' (not leading)
// stay, every other byte is %XX, and a name whose escape passes 180 bytes
// is cut and completed with a hash. (On a case-insensitive file system two
// names differing only in case share a directory.)
//
// A message file is the JSON form of [virtual.MarshalEnvelope]: body in
// base64, headers, properties, exchange, routing key, redelivered flag and
// expiry. Its name sorts in delivery order: <pp> is 255 minus the priority
// in two hex digits (highest priority first); <k> is "a" for a requeued
// message and "b" for a new one (requeued first); <stamp> is the time in
// nanoseconds, strictly increasing in a process (inverted for requeued
// ones: the latest requeue first, as a requeue puts a message at the head);
// <size> is the body size, so counting bytes needs no reading.
//
// # Operations
//
// Put writes the file under tmp/ and renames it into the queue: readers
// see the whole file or none. Fetch lists the queue, sorts the names and
// renames the first into claimed/ under its owner name: rename is atomic,
// so of two processes racing for a file exactly one gets it (the other
// sees it gone and tries the next). Ack removes the claimed file. Requeue
// writes the message again under a requeued name, then removes the claim.
// Purge removes the ready files; Len counts them. Deleting a queue renames
// its directory into trash/ (atomic: later puts and claims find no queue),
// then removes it.
//
// Durability: a persistent message (delivery mode 2) is fsynced, file and
// directory, before Put returns, and so are requeued messages, bindings
// and exchange declarations, unless Config.NoSync. Claims and acks are not
// fsynced: after a power loss a claimed or acked message may be ready
// again (redelivered, never lost).
//
// Leases: each [Connector] has an owner name, and its claims carry it. A
// live Connector touches leases/<owner> every LeaseTimeout/4 and, every
// LeaseTimeout/2, restores the claims of owners whose lease is missing or
// older than LeaseTimeout: it renames such a claim to its own owner name
// (only one process wins), writes the message back as ready and
// redelivered, and removes the claim. So a process killed with SIGKILL
// loses nothing: its claims come back within about 1.5 LeaseTimeout. A
// process that stalls longer than LeaseTimeout may see its claims
// delivered again elsewhere (at-least-once).
//
// Waiting: a consumer of an empty queue wakes at once for messages put by
// its own process. On Linux, a Connector also watches, with one inotify
// instance (golang.org/x/sys/unix), the directories of the queues its
// consumers wait on: a message file renamed into one (another process's
// Put, Requeue or restore) wakes them at once and makes the next claim
// list the queue again, so they need no busy polling; a safety poll every
// Config.PollInterval remains. Where inotify is missing (other systems, a
// file system that does not report, no instances left) consumers poll,
// 1 ms doubling up to Config.PollInterval. A process caches a queue's
// listing for up to PollInterval; without inotify a higher-priority
// message put by another process may wait that long behind the listed
// ones.
//
// # Topology across processes
//
// The store implements [virtual.Catalog] and [virtual.ExchangeCatalog]:
// queue bindings and exchange declarations are files, so a publisher in
// one process routes by the bindings another process made, and to an
// exchange it never declared, by the kind recorded. A process caches an
// exchange's bindings while the directory is unchanged (and older than
// a second, to be safe with coarse directory timestamps). Queue options
// beyond priority (TTL, limits, dead-lettering), exclusivity and
// auto-delete apply in the processes that declared the queue, as the
// virtual package documents.
//
// # Concurrency, ownership, errors
//
// A Connector and the Conns and Channels it opens are safe for concurrent
// use. The Connector starts one goroutine while it has a live Conn (lease
// renewal and restores), and on Linux one that reads inotify events, both
// stopped when the last Conn dies; the virtual
// Broker starts its own (one per consumer); every one ends when its Conn
// or Channel is closed. I/O failures of the store are reported as
// [github.com/kelpmq/kelp/transports.ErrConnLost], as for any virtual
// transport; a root directory that cannot be created or written for lack
// of permission is a 403 [*github.com/kelpmq/kelp/transports.Error] from
// Connect. A message file that cannot be decoded is moved to corrupt/ and
// logged, and the next message is delivered. Configuration errors wrap
// [ErrInvalidConfig].
package filesystem
