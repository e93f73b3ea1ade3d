// Package route holds kelp's routing vocabulary: exchanges, queues and
// bindings as plain Go values (Kombu's Exchange, Queue and binding), and the
// matchers that virtual transports route with.
//
// The package is a leaf: it imports only the standard library, starts no
// goroutines and does no I/O.
//
// # Declarations
//
// [Exchange], [Queue] and [Binding] describe what to declare; [NewExchange]
// and [NewQueue] apply Kombu's defaults (durable). They are values: copy them
// freely. Their Table and slice fields are shared by copies, so take a
// [Queue.Clone] (or [Exchange.Clone], [Table.Clone]) before changing one that
// someone else may hold. Nothing in this package keeps or changes a value it
// is given, except that routers keep their own copy of binding arguments.
//
// [Exchange.Validate] and [Queue.Validate] report every problem at once
// (joined with [errors.Join]). [Queue.DeclareArguments] is the single
// mapping from queue fields to RabbitMQ x-arguments (x-message-ttl,
// x-expires, x-max-length, ...); [Queue.Normalize] is its reverse, for
// transports that read fields. [Exchange.Key] and [Queue.Key] are stable
// keys of a full definition, for caching declarations;
// [Exchange.ShouldDeclare], [Exchange.CanCache] and [Queue.CanCache] carry
// Kombu's rules about what to declare and what to remember.
//
// # JSON
//
// Declarations marshal to JSON and back to an equal value, provided their
// tables hold JSON's own kinds of values (see [Table]) and their Kind is set
// (an unset Kind decodes as direct). Decoding applies Kombu's defaults: an
// absent "durable" is true, an absent or empty exchange "type" is direct. Queue durations marshal as Go duration strings
// ("1.5s") and decode from those or from a number of seconds
// ("message_ttl": 10). Delivery modes decode from 1, 2 or their names and
// marshal as numbers. Unknown kinds, delivery modes and malformed durations
// fail to decode with errors matching [ErrUnknownKind],
// [ErrInvalidDeliveryMode] and [ErrInvalidDuration]. Numbers in a decoded
// [Table] are int64 when written as integers and float64 otherwise.
//
// # Routing
//
// A [Router] holds the bindings of one exchange; [NewRouter] picks the
// implementation for a [Kind]:
//
//   - [DirectRouter]: the routing key equals the binding key (a map lookup).
//   - [TopicRouter]: AMQP topic patterns ([MatchTopic]) in a trie of words,
//     walked once per message whatever the number of bindings.
//   - [FanoutRouter]: every bound destination.
//   - [HeadersRouter]: RabbitMQ's headers matching ([MatchHeaders]).
//
// A binding is identified by (routing key, arguments, destination); binding
// twice is a no-op and [Router.Route] appends each destination once. Every
// router is safe for concurrent use: Route holds a read lock, so many
// goroutines route at once, while Bind, Unbind and UnbindDest take the write
// lock. The zero value of each router type is an empty router.
//
// Topic matching follows AMQP 0-9-1 as RabbitMQ implements it, not Kombu's
// regex emulation: "*" is exactly one word and "#" zero or more, so "a.#"
// matches "a" and "a.*" does not match "a.b.c".
//
// # Errors
//
// Errors match the package's sentinels with [errors.Is]: [ErrUnknownKind],
// [ErrInvalidDeliveryMode], [ErrInvalidDuration], [ErrInvalidExchange],
// [ErrInvalidQueue], [ErrInvalidBinding], [ErrInvalidArgument],
// [ErrArgumentConflict] and [ErrInvalidMatch]. An error about a field of a
// queue matches both [ErrInvalidQueue] and the specific cause.
package route
