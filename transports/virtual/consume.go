package virtual

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// consumer is one running consumer and its pump: the goroutine that claims
// messages from the Backend while the consumer has prefetch credit and
// hands them to the Deliveries channel. The pump is the only sender on out
// and closes it when it exits. It implements [transports.Subscription].
type consumer struct {
	ch        *Channel
	b         *Broker
	queue     string
	q         *queue // set by Broker.addConsumer
	tag       string
	noAck     bool
	exclusive bool
	prefetch  int // 0: unlimited

	out    chan transports.Delivery
	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{} // one slot: credit may be available
	done   chan struct{} // closed when the pump has exited

	// cur is the claim the pump is handling (a field, not a local, so
	// that passing it to the Backend does not allocate).
	cur Claim
	// res is the consumer's place in its queue's line, when the Backend is
	// a Reserver and the pump is not already holding a message.
	res Reservation

	// release ends the consumer's subscription to a Broadcaster store's
	// broadcasts, when it has one; the pump's exit calls it.
	release func()

	// Guarded by ch.mu.
	unacked int
	waiting bool

	errMu  sync.Mutex
	err    error
	errSet bool
	ended  bool // Deliveries is (about to be) closed
}

var _ transports.Subscription = (*consumer)(nil)

// Tag returns the consumer tag.
func (c *consumer) Tag() string { return c.tag }

// Deliveries returns the channel deliveries arrive on.
func (c *consumer) Deliveries() <-chan transports.Delivery { return c.out }

// Err returns nil until Deliveries is closed, then why the consumer ended.
func (c *consumer) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if !c.ended {
		return nil
	}
	return c.err
}

// end records why the consumer ends; the first reason wins.
func (c *consumer) end(err error) {
	c.errMu.Lock()
	if !c.errSet {
		c.err, c.errSet = err, true
	}
	c.errMu.Unlock()
}

// stop ends the consumer with err (nil for a client cancel) without
// waiting for the pump to exit.
func (c *consumer) stop(err error) {
	c.end(err)
	c.cancel()
}

// wake tells a pump waiting for credit to look again. Called with ch.mu
// held.
func (c *consumer) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Consume starts a consumer. With a prefetch limit its Deliveries channel
// buffers up to that many deliveries; without one (or with NoAck) it is
// unbuffered, so messages leave the queue only as fast as they are
// received. Consumer arguments (x-priority, ...) are ignored.
func (ch *Channel) Consume(ctx context.Context, args transports.ConsumeArgs) (transports.Subscription, error) {
	if err := ch.ready(ctx, "basic.consume"); err != nil {
		return nil, err
	}
	tag := args.Tag
	if tag == "" {
		tag = randomName("amq.ctag-")
	}
	ch.mu.Lock()
	_, dup := ch.consumers[tag]
	prefetch, global := ch.prefetch, ch.global
	ch.mu.Unlock()
	if dup {
		return nil, ch.fail(brokerError(530, "attempt to reuse consumer tag '%s'", tag))
	}
	size := 0
	if !args.NoAck {
		size = prefetch
		if global > 0 && (size == 0 || global < size) {
			size = global
		}
	}
	pctx, cancel := context.WithCancel(context.Background())
	c := &consumer{
		ch: ch, b: ch.b, queue: args.Queue, tag: tag, noAck: args.NoAck, exclusive: args.Exclusive,
		prefetch: prefetch, out: make(chan transports.Delivery, size), ctx: pctx, cancel: cancel,
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if err := ch.b.addConsumer(c); err != nil {
		cancel()
		return nil, ch.fail(err)
	}
	if bc := ch.b.bcast; bc != nil {
		release, err := bc.Subscribe(ctx, c.queue)
		if err != nil {
			cancel()
			ch.b.removeConsumer(c)
			return nil, ch.fail(storeError("basic.consume", err))
		}
		c.release = release
	}
	ch.mu.Lock()
	if ch.closing {
		err := ch.err
		ch.mu.Unlock()
		cancel()
		ch.b.removeConsumer(c)
		c.releaseSubscription()
		return nil, err
	}
	ch.consumers[tag] = c
	if r, ok := ch.b.backend.(Reserver); ok && c.hasCreditLocked() {
		// Take the consumer's place in line now, so that messages
		// published after Consume returns are served in turn.
		c.res, _ = r.Reserve(c.queue)
	}
	go c.run()
	ch.mu.Unlock()
	return c, nil
}

// Cancel stops a consumer and waits for its pump to exit: no delivery is
// sent to it afterwards, and its Deliveries channel closes (after what it
// buffered) with Err nil. Its unsettled deliveries stay unsettled.
func (ch *Channel) Cancel(ctx context.Context, consumerTag string) error {
	if err := ch.check(ctx, "basic.cancel"); err != nil {
		return err
	}
	ch.mu.Lock()
	c := ch.consumers[consumerTag]
	ch.mu.Unlock()
	if c == nil {
		return nil
	}
	c.stop(nil)
	<-c.done
	return nil
}

// run is the pump.
func (c *consumer) run() {
	defer c.exit()
	if c.b.fetcher != nil {
		c.runBatched(c.b.fetcher)
		return
	}
	be := c.b.backend
	reserver, _ := be.(Reserver)
	cl := &c.cur
	for {
		if c.res == nil {
			if !c.awaitCredit() {
				return
			}
			if reserver != nil {
				res, err := reserver.Reserve(c.queue)
				if err != nil {
					c.fetchFailed(err)
					return
				}
				c.res = res
			}
		}
		var err error
		if c.res != nil {
			*cl, err = c.res.Claim(c.ctx)
			c.res = nil
		} else {
			*cl, err = be.Fetch(c.ctx, c.queue, true)
		}
		if err != nil {
			c.fetchFailed(err)
			return
		}
		if !c.hand(cl, nil) {
			return
		}
		*cl = Claim{}
	}
}

// hand delivers a claimed message to the consumer (or expires it), and
// reports false when the consumer stopped first: the message then goes
// back to the head of its queue, after rest (claims taken with it and not
// handed out yet), so that the queue keeps their order.
func (c *consumer) hand(cl *Claim, rest []Claim) bool {
	if cl.Envelope.expired(time.Now()) {
		c.q.expire(cl)
		return true
	}
	d, ok := c.ch.record(c, cl)
	if !ok {
		return true
	}
	be := c.b.backend
	select {
	case c.out <- d:
		if c.noAck {
			_ = be.Ack(context.Background(), cl)
		}
		return true
	case <-c.ctx.Done():
		for k := len(rest) - 1; k >= 0; k-- {
			_ = be.Requeue(context.Background(), &rest[k])
		}
		c.ch.unrecord(c, d.Tag, cl)
		return false
	}
}

// runBatched is the pump for a [BatchFetcher] store: it claims up to the
// consumer's free credit at once. Claims it cannot hand out because the
// consumer stopped go back to the head of the queue in their order.
func (c *consumer) runBatched(bf BatchFetcher) {
	var claims []Claim
	for {
		n := c.awaitCreditN()
		if n == 0 {
			return
		}
		var err error
		claims, err = bf.FetchBatch(c.ctx, c.queue, n, true, claims[:0])
		if err != nil {
			c.fetchFailed(err)
			return
		}
		for i := range claims {
			if !c.hand(&claims[i], claims[i+1:]) {
				clear(claims)
				return
			}
		}
		clear(claims)
	}
}

// awaitCreditN waits until the consumer may take more messages and
// returns how many (at most maxFetchBatch), or 0 when it was stopped.
// Without a prefetch limit (and with no-ack) it is 1: messages then leave
// the queue only as fast as the receiver takes them.
func (c *consumer) awaitCreditN() int {
	if !c.awaitCredit() {
		return 0
	}
	if c.noAck {
		return 1
	}
	ch := c.ch
	ch.mu.Lock()
	defer ch.mu.Unlock()
	n := maxFetchBatch
	if c.prefetch > 0 {
		n = min(n, c.prefetch-c.unacked)
	}
	if ch.global > 0 {
		n = min(n, ch.global-ch.unacked)
	}
	if c.prefetch == 0 && ch.global == 0 {
		n = 1
	}
	return max(n, 1)
}

// fetchFailed ends the consumer after its fetch failed.
func (c *consumer) fetchFailed(err error) {
	switch {
	case c.ctx.Err() != nil:
	case errors.Is(err, ErrNoQueue):
		c.end(errCancelledBy("queue '" + c.queue + "' deleted"))
	default:
		c.end(storeError("basic.consume", err))
	}
}

// awaitCredit waits until the consumer may take one more message, and
// reports false when it was stopped instead.
func (c *consumer) awaitCredit() bool {
	ch := c.ch
	for {
		ch.mu.Lock()
		if c.ctx.Err() != nil {
			ch.mu.Unlock()
			return false
		}
		if c.hasCreditLocked() {
			c.waiting = false
			ch.mu.Unlock()
			return true
		}
		c.waiting = true
		ch.mu.Unlock()
		select {
		case <-c.kick:
		case <-c.ctx.Done():
			return false
		}
	}
}

func (c *consumer) hasCreditLocked() bool {
	return c.noAck || ((c.prefetch == 0 || c.unacked < c.prefetch) &&
		(c.ch.global == 0 || c.ch.unacked < c.ch.global))
}

// record gives a claimed message a delivery tag and, unless the consumer
// is no-ack, makes it an unsettled delivery. When the consumer stopped or
// lost its credit meanwhile (another consumer took the channel's last
// global slot) the message goes back to the queue untouched and ok is
// false.
func (ch *Channel) record(c *consumer, cl *Claim) (transports.Delivery, bool) {
	ch.mu.Lock()
	if c.ctx.Err() != nil || !c.hasCreditLocked() {
		ch.mu.Unlock()
		_ = ch.b.backend.Requeue(context.Background(), cl)
		return transports.Delivery{}, false
	}
	ch.nextTag++
	tag := ch.nextTag
	if !c.noAck {
		ch.win.push(pending{tag: tag, q: c.q, cons: c, claim: *cl})
		ch.unacked++
		c.unacked++
	}
	ch.mu.Unlock()
	return delivery(cl, tag, c.tag, !c.noAck), true
}

// unrecord undoes record for a message the pump could not hand out before
// it was stopped: the message goes back to its queue as it was.
func (ch *Channel) unrecord(c *consumer, tag uint64, cl *Claim) {
	if !c.noAck {
		ch.mu.Lock()
		i := ch.win.find(tag)
		if i < 0 {
			// Settled meanwhile (an Ack with multiple covered it).
			ch.mu.Unlock()
			return
		}
		ps := []pending{ch.win.take(i)}
		ch.win.trim()
		ch.releaseLocked(ps)
		ch.mu.Unlock()
	}
	_ = ch.b.backend.Requeue(context.Background(), cl)
}

// exit runs when the pump ends: the consumer leaves its channel and queue
// (which may auto-delete the queue), then Deliveries closes.
func (c *consumer) exit() {
	c.cancel()
	if c.res != nil {
		c.res.Cancel()
		c.res = nil
	}
	ch := c.ch
	ch.mu.Lock()
	if ch.consumers[c.tag] == c {
		delete(ch.consumers, c.tag)
	}
	ch.mu.Unlock()
	c.b.removeConsumer(c)
	c.releaseSubscription()
	c.errMu.Lock()
	c.ended = true
	err := c.err
	c.errMu.Unlock()
	close(c.out)
	close(c.done)
	if errors.Is(err, transports.ErrConnLost) {
		// The store failed: the connection is dead. Its shutdown waits
		// for this pump, so it runs on its own goroutine, which ends
		// with it.
		go c.ch.conn.drop(err)
	}
}

// releaseSubscription releases the consumer's Broadcaster subscription,
// if any, once.
func (c *consumer) releaseSubscription() {
	if c.release != nil {
		c.release()
		c.release = nil
	}
}
