package virtual

import "context"

// Discarder is an optional interface of a [Backend] that keeps, instead of
// deleting, the messages the Broker would otherwise drop: a message
// rejected without requeue or expired, from a queue that has no
// dead-letter exchange. beanstalkd, for one, buries such a job, where an
// operator can look at it and kick it back. Without it, or for a queue
// with a dead-letter exchange, the Broker acknowledges the claim (and
// dead-letters the message when it can).
type Discarder interface {
	// Discard settles c for good, as [Backend.Ack] does as far as the
	// queue is concerned (the message is no longer ready or claimed and
	// does not count in Len), keeping the message aside. reason is
	// RabbitMQ's dead-letter reason: "rejected" or "expired".
	Discard(ctx context.Context, c *Claim, reason string) error
}

// discard settles a claim whose message leaves q without being consumed
// (reason as in x-death): dead-lettered when q has a dead-letter exchange,
// else kept aside by a [Discarder] store, else dropped.
func (b *Broker) discard(ctx context.Context, q *queue, c *Claim, reason string) {
	if d, ok := b.backend.(Discarder); ok && !q.hasDLX {
		if err := d.Discard(ctx, c, reason); err != nil {
			b.log.Warn("virtual: keeping a dropped message aside failed", "queue", q.name, "reason", reason, "err", err)
		}
		return
	}
	_ = b.backend.Ack(ctx, c)
	b.deadLetter(q, &c.Envelope, reason)
}
