package virtual

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// queue is a declared queue: its definition and the per-queue features the
// Broker emulates (TTL, length limits, dead-lettering, expiry). Messages
// live in the Backend under the queue's name.
type queue struct {
	b    *Broker
	name string
	def  route.Queue

	// Guarded by Broker.mu.
	owner     *Conn // exclusive owner, or nil
	consumers []*consumer
	deleted   bool

	// Effective settings, fixed at declaration. A negative limit is unset.
	ttl      time.Duration
	hasTTL   bool
	dlx      string
	hasDLX   bool
	dlrk     string
	maxLen   int64
	maxBytes int64
	overflow route.Overflow
	expires  time.Duration

	// limitMu serialises publishes to a queue with length limits, so that
	// the check and the drop are exact within this process.
	limitMu sync.Mutex

	// tmu guards the timers: one for message expiry (armed for the
	// earliest known expiry) and one for x-expires.
	tmu       sync.Mutex
	ttlTimer  *time.Timer
	ttlAt     time.Time
	idleTimer *time.Timer
	idleGen   uint64
	stopped   bool
}

// newQueue builds a queue from a normalised definition. Zero-valued
// x-arguments that route.Queue.Normalize leaves in Arguments (a zero TTL, a
// zero max length, the default exchange as dead-letter exchange) count.
func newQueue(b *Broker, def route.Queue) *queue {
	q := &queue{b: b, name: def.Name, def: def, maxLen: -1, maxBytes: -1,
		ttl: def.MessageTTL, expires: def.Expires, overflow: def.Overflow,
		dlx: def.DeadLetterExchange, dlrk: def.DeadLetterRoutingKey}
	_, zeroTTL := def.Arguments[route.ArgMessageTTL]
	q.hasTTL = def.MessageTTL > 0 || zeroTTL
	_, defaultDLX := def.Arguments[route.ArgDeadLetterExchange]
	q.hasDLX = def.DeadLetterExchange != "" || defaultDLX
	if _, ok := def.Arguments[route.ArgMaxLength]; ok || def.MaxLength > 0 {
		q.maxLen = def.MaxLength
	}
	if _, ok := def.Arguments[route.ArgMaxLengthBytes]; ok || def.MaxLengthBytes > 0 {
		q.maxBytes = def.MaxLengthBytes
	}
	return q
}

// access reports whether connection c may use q.
func (q *queue) access(c *Conn) error {
	if q.owner != nil && q.owner != c {
		return errLocked(q.name)
	}
	return nil
}

// equivalent reports, as RabbitMQ does, the first property in which a
// redeclaration n differs from q's definition.
func (q *queue) equivalent(n route.Queue) error {
	const what = "queue"
	cur := q.def
	type prop struct {
		name     string
		got, was any
	}
	for _, p := range []prop{
		{"durable", n.Durable, cur.Durable},
		{"exclusive", n.Exclusive, cur.Exclusive},
		{"auto_delete", n.AutoDelete, cur.AutoDelete},
		{route.ArgMessageTTL, n.MessageTTL.Milliseconds(), cur.MessageTTL.Milliseconds()},
		{route.ArgExpires, n.Expires.Milliseconds(), cur.Expires.Milliseconds()},
		{route.ArgMaxLength, n.MaxLength, cur.MaxLength},
		{route.ArgMaxLengthBytes, n.MaxLengthBytes, cur.MaxLengthBytes},
		{route.ArgMaxPriority, n.MaxPriority, cur.MaxPriority},
		{route.ArgDeadLetterExchange, n.DeadLetterExchange, cur.DeadLetterExchange},
		{route.ArgDeadLetterRoutingKey, n.DeadLetterRoutingKey, cur.DeadLetterRoutingKey},
		{route.ArgOverflow, n.Overflow, cur.Overflow},
		{route.ArgQueueType, n.Type, cur.Type},
	} {
		if p.got != p.was {
			return errInequivalent(what, q.name, p.name, p.got, p.was)
		}
	}
	return argumentsEquivalent(what, q.name, cur.Arguments, n.Arguments)
}

// enqueue stores one routed message in q, applying the TTL and length
// limits. It reports whether q accepted the message (false when
// reject-publish refused it). env is q's own copy; enqueue may change it.
func (q *queue) enqueue(ctx context.Context, env *Envelope, msgTTL time.Duration, hasMsgTTL bool, now time.Time) (bool, error) {
	env.Expires = q.expiry(msgTTL, hasMsgTTL, now)
	if q.maxLen < 0 && q.maxBytes < 0 {
		if err := q.b.backend.Put(ctx, q.name, env); err != nil {
			return q.putFailed(err)
		}
	} else if ok, err := q.enqueueLimited(ctx, env); !ok || err != nil {
		return ok, err
	}
	if !env.Expires.IsZero() {
		q.armExpiry(env.Expires)
	}
	return true, nil
}

// expiry returns when a message enqueued in q at now with the
// per-message TTL msgTTL (when hasMsgTTL) expires: the earlier of that and
// the queue's message TTL, or zero for never.
func (q *queue) expiry(msgTTL time.Duration, hasMsgTTL bool, now time.Time) time.Time {
	if !q.hasTTL && !hasMsgTTL {
		return time.Time{}
	}
	d := msgTTL
	if q.hasTTL && (!hasMsgTTL || q.ttl < d) {
		d = q.ttl
	}
	return now.Add(d)
}

// putFailed classifies a failed Put: a queue deleted meanwhile drops the
// message as RabbitMQ would; a [*transports.Error] is the store refusing
// this message (311 when it is larger than the store takes), which closes
// the channel and leaves the connection up; anything else is a store
// failure.
func (q *queue) putFailed(err error) (bool, error) {
	if errors.Is(err, ErrNoQueue) {
		return true, nil
	}
	if _, ok := errors.AsType[*transports.Error](err); ok {
		return false, err
	}
	return false, storeError("basic.publish", err)
}

// over reports whether a queue of length l exceeds q's limits.
func (q *queue) over(l QueueLen) bool {
	return (q.maxLen >= 0 && int64(l.Messages) > q.maxLen) || (q.maxBytes >= 0 && l.Bytes > q.maxBytes)
}

// enqueueLimited is enqueue for a queue with x-max-length or
// x-max-length-bytes: reject-publish refuses a message that does not fit,
// drop-head drops (and dead-letters) the oldest messages until it fits.
func (q *queue) enqueueLimited(ctx context.Context, env *Envelope) (bool, error) {
	be := q.b.backend
	var dropped []Envelope
	q.limitMu.Lock()
	l, err := be.Len(ctx, q.name)
	if err != nil {
		q.limitMu.Unlock()
		return q.putFailed(err)
	}
	if q.overflow == route.OverflowRejectPublish || q.overflow == route.OverflowRejectPublishDLX {
		l.Messages++
		l.Bytes += int64(len(env.Body))
		if q.over(l) {
			q.limitMu.Unlock()
			if q.overflow == route.OverflowRejectPublishDLX {
				q.b.deadLetter(q, env, reasonMaxLen)
			}
			return false, nil
		}
	}
	if err := be.Put(ctx, q.name, env); err != nil {
		q.limitMu.Unlock()
		return q.putFailed(err)
	}
	for {
		l, err := be.Len(ctx, q.name)
		if err != nil || !q.over(l) {
			break
		}
		c, err := be.Fetch(ctx, q.name, false)
		if err != nil {
			break
		}
		_ = be.Ack(ctx, &c)
		dropped = append(dropped, c.Envelope)
	}
	q.limitMu.Unlock()
	for i := range dropped {
		q.b.deadLetter(q, &dropped[i], reasonMaxLen)
	}
	return true, nil
}

// armExpiry makes sure the expiry timer fires no later than at.
func (q *queue) armExpiry(at time.Time) {
	q.tmu.Lock()
	defer q.tmu.Unlock()
	if q.stopped || (!q.ttlAt.IsZero() && !at.Before(q.ttlAt)) {
		return
	}
	q.ttlAt = at
	d := time.Until(at)
	if q.ttlTimer == nil {
		q.ttlTimer = time.AfterFunc(d, q.sweep)
	} else {
		q.ttlTimer.Reset(d)
	}
}

// sweep expires the messages at the head of q, as RabbitMQ does even when
// nobody consumes: each expired head is dropped or dead-lettered, and the
// timer is re-armed for the first live head that has an expiry.
func (q *queue) sweep() {
	q.tmu.Lock()
	q.ttlAt = time.Time{}
	q.tmu.Unlock()
	ctx := context.Background()
	be := q.b.backend
	if ex, ok := be.(Expirer); ok {
		expired, next, err := ex.Expire(ctx, q.name, time.Now())
		if err != nil {
			return
		}
		for i := range expired {
			q.b.deadLetter(q, &expired[i], reasonExpired)
		}
		if !next.IsZero() {
			q.armExpiry(next)
		}
		return
	}
	for {
		c, err := be.Fetch(ctx, q.name, false)
		if err != nil {
			return
		}
		if c.Envelope.expired(time.Now()) {
			q.expire(&c)
			continue
		}
		if err := be.Requeue(ctx, &c); err == nil && !c.Envelope.Expires.IsZero() {
			q.armExpiry(c.Envelope.Expires)
		}
		return
	}
}

// expire settles a claim whose message has expired: it leaves the queue and
// is dead-lettered when q has a dead-letter exchange (see discard).
func (q *queue) expire(c *Claim) {
	q.b.discard(context.Background(), q, c, reasonExpired)
}

// touch records a use of q for x-expires: with no consumers the idle timer
// restarts. Called with Broker.mu held.
func (q *queue) touch() {
	if q.expires <= 0 || len(q.consumers) > 0 {
		return
	}
	q.tmu.Lock()
	defer q.tmu.Unlock()
	if q.stopped {
		return
	}
	q.idleGen++
	gen := q.idleGen
	if q.idleTimer != nil {
		q.idleTimer.Stop()
	}
	q.idleTimer = time.AfterFunc(q.expires, func() { q.b.expireIdle(q, gen) })
}

// busy stops the idle timer: q has a consumer. Called with Broker.mu held.
func (q *queue) busy() {
	if q.expires <= 0 {
		return
	}
	q.tmu.Lock()
	defer q.tmu.Unlock()
	q.idleGen++
	if q.idleTimer != nil {
		q.idleTimer.Stop()
	}
}

// stopTimers stops both timers for good (the queue is deleted).
func (q *queue) stopTimers() {
	q.tmu.Lock()
	defer q.tmu.Unlock()
	q.stopped = true
	q.idleGen++
	if q.ttlTimer != nil {
		q.ttlTimer.Stop()
	}
	if q.idleTimer != nil {
		q.idleTimer.Stop()
	}
}

// expireIdle deletes q when it has stayed unused for its x-expires.
func (b *Broker) expireIdle(q *queue, gen uint64) {
	b.mu.Lock()
	q.tmu.Lock()
	stale := gen != q.idleGen
	q.tmu.Unlock()
	if stale || q.deleted || len(q.consumers) > 0 {
		b.mu.Unlock()
		return
	}
	ds := b.unlinkQueueLocked(q)
	b.mu.Unlock()
	for _, d := range ds {
		b.finishQueueDelete(context.Background(), d)
	}
}

// addConsumer registers a consumer of q, enforcing exclusive consumers.
func (b *Broker) addConsumer(c *consumer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[c.queue]
	if q == nil {
		return errNoQueue(c.queue)
	}
	if err := q.access(c.ch.conn); err != nil {
		return err
	}
	for _, o := range q.consumers {
		if o.exclusive || c.exclusive {
			return brokerError(403, "queue '%s' in vhost '%s' in exclusive use", q.name, vhost)
		}
	}
	q.consumers = append(q.consumers, c)
	c.q = q
	q.busy()
	return nil
}

// removeConsumer forgets a consumer that ended. An auto-delete queue left
// without consumers is deleted; any other queue starts its idle timer.
func (b *Broker) removeConsumer(c *consumer) {
	q := c.q
	b.mu.Lock()
	i := slices.Index(q.consumers, c)
	if i < 0 {
		b.mu.Unlock()
		return
	}
	q.consumers = slices.Delete(q.consumers, i, i+1)
	var ds []deletion
	if len(q.consumers) == 0 {
		if q.def.AutoDelete {
			ds = b.unlinkQueueLocked(q)
		} else {
			q.touch()
		}
	}
	b.mu.Unlock()
	for _, d := range ds {
		b.finishQueueDelete(context.Background(), d)
	}
}

// errCancelledBy is the Err of a subscription the broker cancelled.
func errCancelledBy(why string) error {
	return &cancelError{why: why}
}

// cancelError matches transports.ErrConsumerCancelled.
type cancelError struct{ why string }

// Error implements error.
func (e *cancelError) Error() string { return transports.ErrConsumerCancelled.Error() + ": " + e.why }

// Unwrap makes the error match transports.ErrConsumerCancelled.
func (e *cancelError) Unwrap() error { return transports.ErrConsumerCancelled }
