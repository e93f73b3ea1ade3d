// Package redis is kelp's Redis transport, wire-compatible with Kombu's
// Redis transport (kombu.transport.redis, Kombu 5.x): Python Kombu or
// Celery processes and kelp processes publish to and consume from the same
// queues, exchanges and bindings. It registers the URL schemes redis,
// rediss (TLS) and redis+socket (unix socket); see [ParseURL] for the
// options, which are Kombu's transport options.
//
// The transport is built on package virtual: a [Connector] owns a
// virtual.Broker (exchanges, queue definitions, consumers, prefetch,
// delivery tags) whose message store is Redis, in Kombu's layout, through
// one go-redis client shared by the Connector's Conns.
//
// # Wire layout (Kombu's, exactly)
//
// Every key is behind [Config.GlobalKeyPrefix] (Kombu's global_keyprefix).
//
//   - A queue is a list per priority step: the bare name for step 0,
//     name+"\x06\x16"+step for the others ([Config.PrioritySteps], default
//     0, 3, 6, 9). Publish is LPUSH; consumers take the oldest element
//     (the right end) of the first non-empty step, step 0 first.
//   - An element is Kombu's JSON envelope: body (base64), content-type,
//     content-encoding, headers, and properties with body_encoding
//     "base64", a uuid4 delivery_tag made at publish, delivery_info
//     {exchange, routing_key}, priority, delivery_mode and the other AMQP
//     properties under Kombu's names. kelp adds kelp_expires (per-queue
//     TTL), which Python ignores.
//   - Bindings are the sets _kombu.binding.<exchange>, members
//     routing_key+"\x06\x16"+pattern+"\x06\x16"+queue. For a topic binding
//     kelp stores a regular expression with AMQP's meaning ([TopicRegexp])
//     that Python's re accepts, so a Python publisher routes kelp's
//     bindings as kelp does; patterns written by Python peers (Kombu's own
//     regex, where "*" may span dots) are evaluated as stored.
//   - Fanout exchanges are Kombu's PUB/SUB: a publish is one PUBLISH on
//     the channel <fanout prefix><exchange>, or <fanout prefix><exchange>/
//     <routing key> when there is a key ([Config.FanoutPrefix], default
//     "/<db>.", and [Config.NoFanoutPatterns], Kombu's fanout_prefix and
//     fanout_patterns), with the same JSON envelope. See "Fanout" below.
//   - Unacknowledged messages are in the hash unacked (tag → JSON
//     [envelope, exchange, routing_key]) and the sorted set unacked_index
//     (tag → delivery time), and the visibility restore is guarded by the
//     lock unacked_mutex, all as in Kombu.
//   - kelp's additions, which Python ignores: _kelp.exchange.<name> (the
//     declaration of an exchange, so a process that did not declare it
//     still routes it by its kind; Kombu routes an undeclared topic
//     exchange as direct and drops the message), _kelp.unacked_queue (tag
//     → the queue a claim came from, so a restore returns the message
//     there and nowhere else) and _kelp.unreadable (list elements that are
//     not an envelope, or envelopes whose body is not the base64 they
//     say, moved aside when a consumer reaches them instead of being lost
//     or retried forever).
//
// # Priorities
//
// Kombu on Redis serves priority 0 first and 9 last; AMQP (and kelp)
// serves the highest number first. kelp maps AMQP priority p to Kombu's
// priority 9-min(p, 9) on the wire and back, so the meaning survives the
// trip: a kelp message published with priority 9 is stored with Kombu
// priority 0 in step 0, and both a Python consumer and a kelp consumer take
// it first; a Python message with Kombu's default priority 0 reaches kelp
// as priority 9. (Publish with priority 9 from kelp to match Kombu's
// default.) Priorities above 9 count as 9. A queue declared by this
// process without MaxPriority keeps every message in its bare list, in
// FIFO order; a queue declared with MaxPriority clamps to it first; a queue
// this process did not declare gets Kombu's placement. With the default
// steps, priorities that share a step are served in FIFO order; set
// priority_steps=0,1,2,3,4,5,6,7,8,9 for exact ordering.
//
// # Fanout
//
// By default fanout is Kombu's, so that Python peers interoperate (Celery's
// pidbox and broadcasts, kombu.common.Broadcast): publishing to a fanout
// exchange PUBLISHes the message once, and while a queue bound to fanout
// exchanges (bound by this process, as Kombu knows them) has consumers in
// this process, one PSUBSCRIBE connection receives, for each exchange, the
// bare channel and every <exchange>/<key> channel, so kelp consumers get
// every message whatever its routing key, as AMQP's fanout does (a Python
// consumer bound with an empty key gets only the bare channel, as in
// Kombu). Each message received is pushed to the queue's list and claimed
// from there like any other, so from then on it survives a crash of the
// consumer; a copy claimed while another copy of the same broadcast is
// claimed gets a fresh delivery tag (Kombu's copies share one tag and
// collide in unacked). PUB/SUB is not persistent: a message published
// while a queue has no consumer (or its consumer's process is
// reconnecting) is not kept for it, and queue options applied when a
// message is enqueued (TTL, length limits, dead-lettering) do not apply to
// broadcasts. Several processes consuming one fanout-bound queue each
// receive every message, as several Kombu processes do.
//
// [Config.DurableFanout] (URL option fanout_durable=true) routes fanout
// exchanges into every bound queue's list instead, through the binding
// sets like the other kinds: durable, AMQP's semantics (this is what the
// conformance suite runs), but only kelp consumers read those lists, since
// Python consumers of a fanout-bound queue only subscribe, so use it only
// where no Python peer shares the exchange.
//
// # Better than Kombu, still compatible
//
//   - No window where a popped message lives only in process memory: a Lua
//     script pops the message and records it in unacked and unacked_index
//     in one atomic step, under a tag the process chose before the call,
//     and settling (ack, reject, requeue) is one script too. When the
//     script's reply is lost (a killed connection, a cancelled consume),
//     the process restores that tag's claim, if there is one, at its next
//     Connect (the reconnect that follows the failure), within one
//     maintenance tick, or when its last Conn ends, instead of leaving it
//     to the visibility timeout; so does a claim a consumer could not
//     settle because its Conn was gone. A consumer killed at any instant leaves each message
//     either in its queue or in unacked, from where it is restored.
//   - A live process refreshes the unacked_index score of its claims
//     several times per visibility timeout, so neither kelp's nor Kombu's
//     visibility restore takes a message from a live, slow consumer; only
//     the claims of dead processes age past [Config.VisibilityTimeout] and
//     are restored (to the head of their queue, marked redelivered) by any
//     kelp process, every [Config.RestoreInterval], or on demand with
//     [Connector.RestoreVisible].
//   - Exact prefetch, requeue with the redelivered flag, purge, size and
//     delete come from package virtual.
//
// # Round trips: publishes, claims and acks in batches
//
// The store implements package virtual's batch interfaces, so that the
// round trip to Redis is paid per batch rather than per message, and
// conn's confirm window and prefetch overlap them:
//
//   - Publish queues the message for the channel's writer goroutine and
//     returns; the writer sends every message queued at that moment in
//     one pipeline (one LPUSH per list, with the envelopes in publish
//     order) and then confirms each. A confirmation still means the
//     message is in Redis. Operations of the same channel that read or
//     change Redis (declare, bind, purge, get, consume) wait for the
//     publishes queued before them.
//   - A consumer claims up to its free prefetch credit (at most 128) in one
//     claim script call, recording each in unacked, unacked_index and
//     the claim hash in the same atomic step, as above.
//   - Ack returns once the tag is checked and hands the claim to the
//     channel's settler goroutine, which settles every ack that arrived
//     meanwhile in one MULTI (HDEL unacked, ZREM unacked_index, HDEL the
//     claim hash, each with every tag), as AMQP's basic.ack does not wait
//     for the broker either. The prefetch credit of an ack comes back at
//     once, so the consumer's next claim overlaps the settle; closing the
//     channel waits for the settler, so an acked message is never
//     restored after a clean close; a process killed between Ack and the
//     settle gets the message redelivered, as with any ack lost in
//     flight.
//   - Routing reads an exchange's binding set once and keeps the listing
//     for one second: a binding this process adds or removes applies to
//     its next publish, one made by another process (kelp or Python)
//     within a second. Kombu reads the set on every publish, which made
//     routing cost grow with the number of bindings.
//
// # Sentinel and Cluster
//
// With [Config.SentinelAddrs] (URL sentinel://h1:26379;sentinel://h2:26379/0?master_name=mymaster,
// Kombu's form, which package conn passes on whole rather than as a
// failover list) the client asks the Sentinels for the master and follows
// failovers (go-redis's failover client); a failover kills the Conns,
// whose users (package conn) reconnect to the new master. Redis
// replicates asynchronously: publishes the old master confirmed in its
// last moments, and with a manual SENTINEL FAILOVER those it takes until
// Sentinel demotes it, can be lost; the servers' min-replicas-to-write and
// min-replicas-max-lag bound that window. Claims in unacked are replicated
// like the lists, so an unsettled message survives a failover (at worst
// it is delivered twice).
//
// With [Config.ClusterAddrs] (URL redis+cluster://h1:7000,h2:7001, TLS
// with rediss+cluster://; go-redis's ?addr=h3:7002 form is read too) the
// client is go-redis's cluster client. kelp's Lua scripts touch several
// keys (step lists, unacked, unacked_index, the claim hash) in one call,
// which a Cluster allows only within one hash slot, so the global key
// prefix must hold a hash tag: it defaults to "{kelp}." and a prefix
// without a tag is refused. A Cluster therefore gives kelp failover of
// connections (with replicas) and spreads different prefixes (vhosts, or
// applications) over nodes, but one prefix's queues live on one node.
// Fanout PUB/SUB works unchanged (a PUBLISH reaches subscribers on every
// node). Python Kombu has no Cluster support, so no Python peer can share
// these queues.
//
// # Health check
//
// A Conn notices a dead server when a call fails; a Conn with nothing in
// flight (only publishers that are idle, or no consumer) would not. While
// a Connector has a live Conn, one goroutine PINGs the server every
// [Config.HealthCheckInterval] (Kombu's health_check_interval, 25 s by
// default; URL option health_check_interval=0 turns it off), and a PING
// that fails, within the socket timeouts, kills every Conn with an error
// wrapping transports.ErrConnLost. On a Cluster it asks the node serving
// the prefix's slot. The Connector logs (health check failures, failed
// restores) to the Logger of transports.ConnectOptions, the latest one a
// Connect gave.
//
// # Goroutines, ownership, errors
//
// While a Connector has a live Conn it runs one maintenance goroutine
// (claim refresh and visibility restore), one health-check goroutine and
// one goroutine per Conn that waits for it to end; the last Conn to end
// stops them and closes the client. A queue bound to a PUB/SUB fanout exchange that has consumers
// has one receiving goroutine and one Redis connection, stopped with its
// last consumer. Each consumer has the pump goroutine package virtual starts; a
// waiting consumer holds one pooled Redis connection, blocked for at most
// [Config.PollInterval] at a time (which also bounds how long Cancel
// waits). A channel that publishes has a writer goroutine and one that
// acks a settler goroutine (package virtual's), ended by the channel's
// close after they have finished their work. Errors follow the SPI: a Redis failure kills the Conn with an
// error wrapping transports.ErrConnLost, refused credentials are a 403,
// and broker-style errors come from package virtual.
//
// # Differences from Kombu to know about
//
// Topology other than bindings (queue options such as TTL and limits,
// exclusive and auto-delete queues) is per Connector, as Kombu keeps it
// per process. A mandatory publish to the default exchange is never
// returned (the queue may exist in another process). Headers exchanges are
// kelp's own: their match table is stored in the pattern part of the
// binding member.
package redis
