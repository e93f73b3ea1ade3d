// Package sql is kelp's transport for SQL databases through database/sql:
// PostgreSQL (pgx), MariaDB/MySQL (go-sql-driver/mysql) and SQLite in pure
// Go (modernc.org/sqlite, no cgo). It is kelp's counterpart of Kombu's
// SQLAlchemy transport, with atomic claims, leases and wake-ups that Kombu
// lacks. It registers the schemes sqla+postgresql, sqla+postgres,
// postgresql, postgres, sqla+mysql, mysql, sqla+sqlite and sqlite; see
// [ParseURL] for the URL forms and options, and [Config] for the settings.
//
// The transport is built on package virtual: a [Connector] owns a
// virtual.Broker (exchanges, queue definitions, consumers, prefetch,
// delivery tags, TTL, length limits, dead-lettering) whose message store
// and binding catalog are tables in the database. Every dialect
// difference (placeholders, claims, upserts, DDL) is in one file,
// dialect.go.
//
// # Schema
//
// The first Conn of a Connector creates the tables when they are missing
// and migrates them to [SchemaVersion], under a lock that serializes
// processes (pg_advisory_lock on PostgreSQL, GET_LOCK on MySQL, SQLite's
// single writer). Every name starts with [Config.TablePrefix] (default
// "kelp_"); processes sharing a prefix share queues and bindings:
//
//   - <prefix>schema (version): the schema version, one row.
//   - <prefix>messages (id, queue, prank, lease_until, lease_token, owner,
//     redelivered, expires, meta, body): one row per ready or claimed
//     message. prank is 255 minus the priority (clamped to the queue's
//     x-max-priority when this process declared it), so the index
//     (queue, prank, id) serves the highest priority first and FIFO
//     within a priority. meta is JSON of the AMQP properties, headers,
//     exchange and routing key; body is the raw body.
//   - <prefix>bindings (id, exchange, queue, routing_key, args): queue
//     bindings, id being a SHA-256 of the other columns.
//   - <prefix>exchanges (name, definition): exchange declarations as
//     JSON, so a process that did not declare an exchange routes it by
//     its kind.
//
// A newer kelp migrates the schema forward by itself; an older kelp
// refuses a newer schema with [ErrSchemaTooNew].
//
// # Claims and leases
//
// A message is ready when its lease_until (Unix ms) is in the past: 0 for
// a message never claimed or requeued. Claiming the next message is one
// atomic step: on PostgreSQL an UPDATE of the row chosen by SELECT ...
// ORDER BY prank, id LIMIT 1 FOR UPDATE SKIP LOCKED, RETURNING it; on
// MariaDB/MySQL the same SELECT and an UPDATE in one transaction; on
// SQLite the UPDATE ... RETURNING, run in WAL mode with BEGIN IMMEDIATE
// transactions and a busy timeout, so that processes take turns as
// writers. The claim writes a lease ([Config.VisibilityTimeout] ahead),
// a random lease token and the Connector's owner id. Ack deletes the row
// and requeue clears the lease, both only while the claim's token is
// still on it; the row keeps its id, hence its place at the head of its
// priority.
//
// A consumer claims up to its free prefetch credit in one such step (one
// UPDATE ... WHERE id IN (SELECT ... LIMIT n ...) RETURNING, or on MySQL a
// locking SELECT ... LIMIT n and an UPDATE of those ids, in a READ
// COMMITTED transaction so that InnoDB takes no gap locks that would
// deadlock claims with INSERTs), and the acks that arrive while one DELETE
// is in flight are deleted together in the next (package virtual's
// BatchFetcher and BatchAcker): a busy consumer pays a commit per batch
// rather than two per message. A statement InnoDB picks as a deadlock's
// victim is run again (up to three times).
//
// A live Connector extends the leases of its claims every third of the
// visibility timeout. When a process dies its leases run out and its
// messages are ready again, claimed next by anyone, marked redelivered.
// Hosts sharing a database must have clocks that agree well within the
// visibility timeout.
//
// # Waiting
//
// A waiting consumer is woken by Puts and requeues of its own process at
// once. On PostgreSQL, after each Put or requeue has committed, the
// Connector NOTIFYs the channel <prefix>wake with its owner id and the
// queue name, and a dedicated LISTEN connection per Connector wakes the
// waiters of that queue (skipping its own notifications), so consumers in
// other processes wake without polling; a safety poll every
// [Config.PollInterval] catches expired leases. The NOTIFYs are sent by
// one goroutine on a connection of their own, with synchronous_commit
// off, those asked for while one is in flight coalesced into the next:
// a transaction that notifies holds a database-wide lock until its commit
// is flushed, so notifying inside each INSERT made concurrent publishers
// wait for each other's disk flushes. MariaDB/MySQL and SQLite
// have no such signal between processes: waiters poll with a backoff from
// 5 ms to PollInterval.
//
// # Corrupt rows
//
// A claimed row whose meta column cannot be decoded is moved to the queue
// [UnreadableQueue] (kept for inspection, never delivered, never retried)
// and the claim moves on to the next row.
//
// # Goroutines, ownership, errors
//
// While a Connector has a live Conn it holds a database/sql pool of
// [Config.MaxConnections] (one connection for SQLite), with the hot-path
// statements prepared, runs one goroutine that extends leases and, on
// PostgreSQL, one that holds the LISTEN connection and one that sends
// NOTIFYs on its own connection, plus one goroutine per Conn that waits
// for it to end; the last Conn to end stops them and closes the pool. Each consumer has the
// pump goroutine package virtual starts; waiting holds no database
// connection. Errors follow the SPI: a database failure kills the Conn
// with an error wrapping transports.ErrConnLost (conn then reconnects and
// the unsettled deliveries return to their queues); refused credentials
// or privileges at Connect are an *transports.Error with code 403 (Connect
// checks, with statements that change nothing, that the user may SELECT,
// INSERT, UPDATE and DELETE on the tables, so that a read-only user is
// refused there rather than losing its connection at every publish);
// broker-style errors come from package virtual.
//
// # Differences from a broker to know about
//
// Queue options (TTL, limits, dead-lettering), exclusive and auto-delete
// queues are per Connector, as Kombu keeps them per process. A mandatory
// publish to the default exchange is never returned (the queue may exist
// in another process). Exchange-to-exchange bindings are not supported.
// Headers are stored as JSON: []byte and time.Time header values come back
// as strings.
package sql
