package virtual

import (
	"context"
	"errors"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// Backend is the message store under a [Broker]: named queues of
// [Envelope] values, with claim-then-settle consumption. It knows nothing of
// exchanges, bindings, consumers, prefetch or delivery tags; the Broker does
// all of that on top of these few operations. See the package documentation
// for how the memory, Redis, SQL and filesystem stores map onto it.
//
// Concurrency: every method may be called from many goroutines at once
// (publishers, consumer pumps, timers). Each method is atomic with respect to
// the others on the same queue: a message is claimed by at most one caller.
//
// Errors: a method on a queue the store does not have returns an error
// wrapping [ErrNoQueue]. A context error is returned wrapped when ctx ends
// first. Any other error is a store failure (I/O, a lost server); the Broker
// reports it to the caller as a connection loss ([transports.ErrConnLost]),
// because the store behind a virtual transport is its connection.
//
// Ownership: Put and Requeue must not keep the *Envelope or the *Claim they
// are given (they copy or encode what they keep); the Message inside them is
// immutable and may be shared without copying. Fetch hands the caller a
// Claim it owns.
type Backend interface {
	// CreateQueue makes sure queue exists, with the options the store
	// applies natively. It is idempotent: creating an existing queue keeps
	// its messages and its options.
	CreateQueue(ctx context.Context, queue string, opts QueueOptions) error

	// DeleteQueue removes queue and its ready messages, and returns how many
	// ready messages it held. Claims outstanding on it stay valid to
	// [Backend.Ack] (a no-op) and [Backend.Requeue] fails with
	// [ErrNoQueue]. A blocked [Backend.Fetch] on it returns ErrNoQueue.
	// Deleting a missing queue returns 0 and ErrNoQueue.
	DeleteQueue(ctx context.Context, queue string) (int, error)

	// Put appends env to the tail of queue, at priority env.Priority
	// clamped to the queue's MaxPriority (so at priority 0 in a queue
	// without one). The stored message keeps its Priority property as it
	// is. If a Fetch is blocked on the queue, the store should hand the
	// message to the longest-waiting one.
	Put(ctx context.Context, queue string, env *Envelope) error

	// Fetch claims the next ready message of queue: the oldest one of the
	// highest priority present. The message stops being ready (it no longer
	// counts in [Backend.Len] and no other Fetch can claim it) until the
	// claim is settled with Ack or Requeue.
	//
	// With wait false an empty queue returns [ErrEmpty] at once. With wait
	// true Fetch blocks until a message can be claimed, ctx ends (an error
	// wrapping ctx.Err(); nothing is claimed), or the queue is deleted
	// ([ErrNoQueue]). Stores should serve blocked callers of one queue in
	// the order they started waiting, so that idle consumers take turns;
	// stores without a wake-up signal poll with a bounded backoff.
	Fetch(ctx context.Context, queue string, wait bool) (Claim, error)

	// Ack settles a claim for good: the message is gone. Acknowledging a
	// claim whose queue was deleted succeeds.
	Ack(ctx context.Context, c *Claim) error

	// Requeue settles a claim by making the message ready again, at the
	// head of its priority, as c.Envelope now says (the Broker sets
	// Redelivered before calling it). It wakes a blocked Fetch like Put.
	// A claim whose queue was deleted fails with [ErrNoQueue]; the message
	// is then dropped.
	Requeue(ctx context.Context, c *Claim) error

	// Purge removes every ready message of queue (not the claimed ones)
	// and returns how many it removed.
	Purge(ctx context.Context, queue string) (int, error)

	// Len returns the number of ready messages of queue and the total size
	// of their bodies. A store that cannot count bytes reports Bytes -1, and
	// the Broker then refuses queues with MaxLengthBytes.
	Len(ctx context.Context, queue string) (QueueLen, error)
}

// Expirer is an optional interface of a [Backend] that can drop expired
// messages at the head of a queue in one atomic step. The Broker uses it to
// expire messages nobody consumes; without it, it claims the head with
// Fetch and requeues it when it has not expired, which briefly hides the
// head from other fetchers.
type Expirer interface {
	// Expire removes from the head of queue, in Fetch order, every message
	// whose Expires is not after now, up to the first that has not
	// expired, and returns the removed messages (for dead-lettering) and
	// the Expires of the message now at the head (zero when the queue is
	// empty or the head never expires).
	Expire(ctx context.Context, queue string, now time.Time) (expired []Envelope, next time.Time, err error)
}

// Reserver is an optional interface of a [Backend] whose waiting fetchers
// stand in line. It splits a waiting Fetch in two: Reserve takes a place in
// the line at once, [Reservation.Claim] waits to be served. The Broker
// reserves a consumer's place before Consume returns and again as soon as
// the consumer has credit, so that consumers waiting on one queue are
// served strictly in turn (round robin, as RabbitMQ does). Without it,
// consumers race in Fetch and service is only roughly fair.
type Reserver interface {
	// Reserve never blocks. When the queue has a ready message and nobody
	// is in line, the reservation gets it at once. It fails with
	// [ErrNoQueue] for a missing queue.
	Reserve(queue string) (Reservation, error)
}

// Reservation is a place in a queue's line of fetchers, used once: by
// Claim or by Cancel.
type Reservation interface {
	// Claim waits until the reservation is served and returns the claimed
	// message, as a waiting [Backend.Fetch] does (including its errors).
	// When ctx ends first the place is given up and nothing is claimed.
	Claim(ctx context.Context) (Claim, error)
	// Cancel gives the place up; a message already handed to it goes back
	// to the head of the queue.
	Cancel()
}

// QueueOptions are the queue settings a [Backend] may apply natively.
type QueueOptions struct {
	// MaxPriority is the queue's highest priority (x-max-priority); 0 means
	// the queue ignores priorities and serves in FIFO order. A store may
	// coarsen priorities into steps (Kombu's Redis layout uses 0, 3, 6, 9)
	// and documents it.
	MaxPriority uint8
}

// QueueLen is the result of [Backend.Len].
type QueueLen struct {
	// Messages is the number of ready messages.
	Messages int
	// Bytes is the total body size of the ready messages, or -1 when the
	// store does not know.
	Bytes int64
}

// Envelope is a message as a [Backend] stores it: the raw AMQP message plus
// the routing facts and state the Broker needs to deliver it again.
type Envelope struct {
	transports.Message
	// Exchange and RoutingKey are those the message was published (or
	// dead-lettered) with; deliveries report them.
	Exchange   string
	RoutingKey string
	// Redelivered is set when the message was delivered before and
	// requeued.
	Redelivered bool
	// Expires is when the message expires in this queue (the earlier of
	// the queue's message TTL and the per-message Expiration, counted from
	// the time it was enqueued). The zero value means never. The Broker
	// checks it; stores only keep it.
	Expires time.Time
}

// expired reports whether e has expired at now.
func (e *Envelope) expired(now time.Time) bool {
	return !e.Expires.IsZero() && !now.Before(e.Expires)
}

// Claim is a message taken from a queue by [Backend.Fetch] and not yet
// settled. The Broker settles every claim exactly once, with
// [Backend.Ack] or [Backend.Requeue].
type Claim struct {
	// Queue is the queue the message was claimed from.
	Queue string
	// Envelope is the claimed message.
	Envelope Envelope
	// Receipt is the store's handle on the claim, opaque to the Broker:
	// Redis's delivery tag, an SQL row id and lease, a file path. Stores
	// that need none (memory) leave it nil.
	Receipt any
}

// Store signals. Backends return them, wrapped as they like.
var (
	// ErrEmpty is returned by a non-waiting [Backend.Fetch] on a queue with
	// no ready message.
	ErrEmpty = errors.New("virtual: queue empty")

	// ErrNoQueue is returned for a queue the store does not have.
	ErrNoQueue = errors.New("virtual: no such queue in the store")
)
