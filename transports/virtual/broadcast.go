package virtual

import (
	"context"
)

// Broadcaster is an optional interface of a [Backend] that broadcasts the
// messages of fanout exchanges itself instead of having the Broker store a
// copy in every bound queue. Kombu's Redis transport is the model: a
// publish to a fanout exchange is one PUBLISH on a PUB/SUB channel, and
// the consumers of a queue bound to the exchange subscribe to that channel
// while they consume, so messages published while nobody consumes are not
// kept (PUB/SUB is not persistent).
//
// With a Broadcaster the Broker hands every publish to a fanout exchange
// (not the default exchange, not the other kinds) to Broadcast first;
// when it reports the message handled, the Broker stores no copies, so
// queue options applied at enqueue (message TTL, length limits,
// dead-lettering) do not apply to it. Mandatory returns still follow the
// exchange's bindings. Every consumer of a queue calls Subscribe before it
// starts, and the function Subscribe returns when it ends.
type Broadcaster interface {
	// Broadcast publishes env, published to the fanout exchange named
	// exchange, and reports true; or reports false, having done nothing,
	// when the store does not broadcast that exchange (the Broker then
	// stores a copy in each bound queue). An error is a store failure.
	// Broadcast must not keep env.
	Broadcast(ctx context.Context, exchange string, env *Envelope) (bool, error)
	// Subscribe is called before a consumer of queue starts: the store
	// starts receiving what is broadcast to the exchanges the queue is
	// bound to and makes it ready in queue for [Backend.Fetch]. When
	// Subscribe returns, broadcasts published afterwards reach the queue.
	// The returned function, called exactly once when the consumer has
	// ended, releases the subscription. An error (a store failure) makes
	// the consume fail.
	Subscribe(ctx context.Context, queue string) (release func(), err error)
}
