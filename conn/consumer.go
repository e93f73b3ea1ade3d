package conn

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/internal/actor"
	"github.com/kelpmq/kelp/mux"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// DefaultTagPrefix is the prefix of generated consumer tags.
const DefaultTagPrefix = "kelp-"

// Consumer receives the deliveries of one or more queues on a single Go
// channel, [Consumer.C], which survives reconnects: after a reconnect the
// consumer subscribes again, on new broker channels, and deliveries keep
// arriving on the same C. C is closed only when the consumer ends.
//
// The consumer's goroutines belong to it; [Consumer.Stop] and
// [Consumer.Drain] end them. A Consumer is safe for concurrent use.
type Consumer struct {
	c      *Connection
	opts   consumeOptions
	accept *codec.Accept
	queues []consumerQueue
	act    *actor.Actor

	// Deliveries reach C through a mux when the consumer reads several
	// queues. With one queue there is one subscription at a time, whose
	// forwarder sends on out, which is then C, itself: a goroutine hop
	// less per delivery, and nothing to be fair between.
	mux     *mux.Mux[Delivery] // nil with one queue
	out     chan Delivery      // C with one queue
	outOnce sync.Once          // closes out

	outstanding atomic.Int64  // delivered to the user and not settled
	settled     chan struct{} // pinged (never blocking) on each settle
	onSettle    func()        // settledOne, made once rather than per delivery

	drainOnce sync.Once
	drainCh   chan struct{} // closed by Drain: cancel, deliver what is buffered
	cancelled cancelSignal  // fired when the broker accepted the cancels (Cancel)
	subsEnded chan struct{} // closed by run when draining subscriptions ended

	readyOnce sync.Once
	ready     chan error // the first subscription's outcome

	kept []*channel // owned by run: channels kept open after a drain
}

// consumerQueue is a queue a consumer reads, with its replay record when
// it was declared through kelp (to follow server-named queues).
type consumerQueue struct {
	def route.Queue
	rec *queueRecord
}

func (q consumerQueue) name() string {
	if q.rec != nil {
		return q.rec.current()
	}
	return q.def.Name
}

// QueueNames returns queues to consume by name only: kelp does not declare
// them (they must exist).
func QueueNames(names ...string) []route.Queue {
	qs := make([]route.Queue, len(names))
	for i, n := range names {
		qs[i] = route.Queue{Name: n, NoDeclare: true}
	}
	return qs
}

// Consume declares the queues (those that [route.Queue.ShouldDeclare]; use
// [QueueNames] for existing queues) and starts consuming from all of them,
// waiting, bounded by ctx, until the broker accepted the subscriptions.
// A missing queue fails with [ErrNotFound], another exclusive consumer
// with [ErrAccessRefused].
//
// Deliveries arrive on [Consumer.C]; each must be settled unless
// [WithNoAck] is set. At most prefetch deliveries per channel are
// unsettled at any time ([WithPrefetch], default 100), which bounds every
// buffer: when the user stops settling, the broker stops sending. Messages
// whose content type the accept list refuses, or whose body cannot be
// decompressed, are rejected by the consumer (dead-lettered where the
// queue has a dead-letter exchange) and logged, never handed out.
func (c *Connection) Consume(ctx context.Context, queues []route.Queue, opts ...ConsumeOption) (*Consumer, error) {
	o, err := newConsumeOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(queues) == 0 {
		return nil, invalidOption("no queues to consume")
	}
	accept, err := c.acceptFor(o)
	if err != nil {
		return nil, err
	}
	if o.tagPrefix == "" {
		o.tagPrefix = DefaultTagPrefix
	}
	cons := &Consumer{
		c:         c,
		opts:      o,
		accept:    accept,
		act:       actor.New(1),
		settled:   make(chan struct{}, 1),
		drainCh:   make(chan struct{}),
		subsEnded: make(chan struct{}),
		ready:     make(chan error, 1),
	}
	cons.onSettle = cons.settledOne
	for _, q := range queues {
		cq := consumerQueue{def: q}
		switch {
		case q.ShouldDeclare() && !q.Passive:
			rec, _, err := c.declareQueue(ctx, q)
			if err != nil {
				return nil, err
			}
			cq.rec = rec
		case q.Name == "":
			return nil, invalidOption("a queue that is not declared needs a name")
		}
		cons.queues = append(cons.queues, cq)
	}
	if len(cons.queues) == 1 {
		cons.out = make(chan Delivery)
	} else {
		cons.mux = mux.New(0, mux.OnAbandon(cons.abandon))
	}
	if err := c.register(cons); err != nil {
		return nil, err
	}
	cons.act.Start(context.Background(), cons.run)
	select {
	case err := <-cons.ready:
		if err != nil {
			cons.Stop()
			return nil, err
		}
		return cons, nil
	case <-ctx.Done():
		cons.Stop()
		return nil, ctxErr(ctx)
	}
}

// C returns the Go channel deliveries arrive on. It is the same channel
// for the consumer's whole life, across reconnects, and is closed when the
// consumer ends (after [Consumer.Stop], [Consumer.Drain], the
// connection's Close, or a permanent error reported by [Consumer.Err]).
func (cons *Consumer) C() <-chan Delivery {
	if cons.mux == nil {
		return cons.out
	}
	return cons.mux.C()
}

// Next returns the next delivery, waiting until one arrives, the consumer
// ends ([ErrClosed], or [Consumer.Err] if it failed) or ctx ends.
func (cons *Consumer) Next(ctx context.Context) (Delivery, error) {
	if cons.mux == nil {
		return cons.nextDirect(ctx)
	}
	d, err := cons.mux.Next(ctx)
	if err == nil {
		return d, nil
	}
	if errors.Is(err, mux.ErrClosed) {
		return Delivery{}, cons.endErr()
	}
	return Delivery{}, wrapErr(err)
}

// nextDirect is Next with one queue. Like mux.Next, an ended ctx always
// gets its error, even when a delivery is ready, and a delivery is never
// lost to a ctx.
func (cons *Consumer) nextDirect(ctx context.Context) (Delivery, error) {
	if ctx.Err() != nil {
		return Delivery{}, ctxErr(ctx)
	}
	select {
	case d, ok := <-cons.out:
		if !ok {
			return Delivery{}, cons.endErr()
		}
		return d, nil
	case <-ctx.Done():
		return Delivery{}, ctxErr(ctx)
	}
}

// All returns an iterator over the deliveries, as successive
// [Consumer.Next] calls return them: it stops when the consumer ends
// (yielding [Consumer.Err] first if it failed), and when ctx ends it
// yields ctx's error once and stops.
func (cons *Consumer) All(ctx context.Context) iter.Seq2[Delivery, error] {
	return func(yield func(Delivery, error) bool) {
		for {
			d, err := cons.Next(ctx)
			if errors.Is(err, ErrClosed) {
				return
			}
			if !yield(d, err) || err != nil {
				return
			}
		}
	}
}

// endErr is Next's error once C is closed.
func (cons *Consumer) endErr() error {
	select {
	case <-cons.act.Done():
	case <-cons.subsEnded: // cancelled or draining: C is closed, the consumer lives on
		return ErrClosed
	}
	if err := cons.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return ErrClosed
}

// Done returns a channel closed when the consumer has ended and released
// its broker channels.
func (cons *Consumer) Done() <-chan struct{} { return cons.act.Done() }

// Err returns nil while the consumer runs and after a normal end; after
// Done is closed because of a permanent error (the queue was deleted and
// could not be consumed again, access refused), that error.
func (cons *Consumer) Err() error { return cons.act.Err() }

// Stop ends the consumer now: it cancels the broker subscriptions and
// closes the consumer's broker channels, so every delivery not yet settled
// goes back to its queue (settling one later returns
// [ErrStaleDelivery]), and closes C. It waits until that is done and is
// idempotent.
func (cons *Consumer) Stop() {
	cons.act.Stop(nil)
	_ = cons.act.Wait()
}

// Drain ends the consumer gracefully: the broker stops sending, the
// deliveries already on their way are still handed out on C (keep reading
// C until it closes), and Drain waits until every delivery handed out has
// been settled, or ctx ends. Then it stops the consumer as [Consumer.Stop]
// does, requeueing whatever is left. It returns ctx's error if ctx ended
// first.
func (cons *Consumer) Drain(ctx context.Context) error {
	cons.drainOnce.Do(func() { close(cons.drainCh) })
	ended := cons.subsEnded
	for {
		if ended == nil && cons.outstanding.Load() <= 0 {
			cons.Stop()
			return nil
		}
		select {
		case <-cons.settled:
		case <-ended:
			ended = nil
		case <-cons.act.Done():
			return nil
		case <-ctx.Done():
			cons.Stop()
			return ctxErr(ctx)
		}
	}
}

// settledOne counts a settle, for Drain.
func (cons *Consumer) settledOne() {
	cons.outstanding.Add(-1)
	select {
	case cons.settled <- struct{}{}:
	default:
	}
}

// abandon is the mux's OnAbandon: a delivery the user never received. Its
// broker channel is being closed, which requeues it.
func (cons *Consumer) abandon(d Delivery) {
	if d.st != nil && !d.st.noAck && d.st.settled.CompareAndSwap(false, true) {
		cons.settledOne()
	}
}

// signalReady reports the first subscription's outcome to Consume.
func (cons *Consumer) signalReady(err error) {
	cons.readyOnce.Do(func() { cons.ready <- err })
}

// run is the consumer's owner goroutine: it subscribes on every session of
// the connection until stopped, drained, or failed for good.
func (cons *Consumer) run(ctx context.Context) (err error) {
	defer func() {
		if ctx.Err() != nil {
			err = nil
		}
		if errors.Is(err, ErrClosed) && cons.c.closing.Load() {
			cons.signalReady(ErrClosed) // Consume during Close
			err = nil                   // the connection closed: a normal end
		}
		cons.signalReady(err)
		cons.stopFeed()
		cons.c.unregister(cons)
	}()
	var minEpoch uint64
	pol := cons.c.cfg.Reconnect.policy()
	pol.MaxRestarts = 0
	retries := 0
	for {
		sess, err := cons.c.awaitSession(ctx, minEpoch, false)
		if err != nil {
			return err
		}
		err = cons.runSession(ctx, sess)
		select {
		case <-cons.drainCh:
			// Drained: the subscriptions ended or the connection died; do
			// not subscribe again. Wait for Stop (from Drain or Close).
			cons.endSubs()
			<-ctx.Done()
			for _, ch := range cons.kept {
				ch.stop()
			}
			return nil
		default:
		}
		if ctx.Err() != nil {
			return nil
		}
		class := classify(err)
		if isDone(sess.tconn.Done()) {
			class = classReconnect
		}
		switch class {
		case classReconnect:
			minEpoch = sess.epoch + 1
			retries = 0
		case classRetry:
			cons.c.cfg.Logger.Warn("conn: consumer subscription ended; subscribing again", "err", err)
			if errors.Is(err, transports.ErrConsumerCancelled) {
				cons.redeclare(ctx)
			}
			retries++
			if err := sleep(ctx, pol.Backoff.Delay(retries-1, nil)); err != nil {
				return nil
			}
		default:
			return err
		}
	}
}

// endSubs closes subsEnded once, and C once what the subscriptions
// forwarded has been delivered.
func (cons *Consumer) endSubs() {
	select {
	case <-cons.subsEnded:
	default:
		close(cons.subsEnded)
		if cons.mux != nil {
			cons.mux.Close()
		} else {
			// The forwarders have sent what they had: they report their
			// end only after that.
			cons.closeOut()
		}
	}
}

// stopFeed closes C now. With one queue no delivery can wait in C (it is
// unbuffered) and the forwarders have ended; a mux passes those it holds
// to abandon.
func (cons *Consumer) stopFeed() {
	if cons.mux != nil {
		cons.mux.Stop()
		return
	}
	cons.closeOut()
}

func (cons *Consumer) closeOut() { cons.outOnce.Do(func() { close(cons.out) }) }

// redeclare declares the consumer's named queues again after the broker
// cancelled it (typically because a queue was deleted).
func (cons *Consumer) redeclare(ctx context.Context) {
	for _, q := range cons.queues {
		if q.rec != nil && q.def.Name != "" {
			if _, _, err := cons.c.declareQueue(ctx, q.def); err != nil {
				cons.c.cfg.Logger.Warn("conn: redeclaring a consumer's queue failed", "queue", q.def.Name, "err", err)
			}
		}
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// subscription is one broker consumer of a session.
type subscription struct {
	ch  *channel
	tag string
}

// runSession subscribes on sess and forwards deliveries until the session
// dies, a subscription ends, or the consumer stops. With drain it cancels
// the subscriptions and returns once they ended.
func (cons *Consumer) runSession(ctx context.Context, sess *session) (err error) {
	n := min(cons.opts.channels, len(cons.queues))
	chans := make([]*channel, 0, n)
	var subs []subscription
	var removes []func()
	stop := make(chan struct{})
	ended := make(chan error, len(cons.queues))
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		for _, remove := range removes {
			remove()
		}
		wg.Wait()
		if isDone(cons.drainCh) && err == nil && ctx.Err() == nil {
			cons.kept = chans // drained: keep the channels open for settling until Stop
			return
		}
		for _, ch := range chans {
			ch.stop()
		}
	}()
	for range n {
		ch, err := newChannel(ctx, cons.c, sess, false)
		if err != nil {
			return err
		}
		chans = append(chans, ch)
		if !cons.opts.noAck {
			_, err := chanCall(ctx, ch, func(ctx context.Context, tch transports.Channel) (struct{}, error) {
				return struct{}{}, tch.Qos(ctx, transports.Qos{PrefetchCount: cons.opts.prefetch})
			})
			if err != nil {
				return err
			}
		}
	}
	if isDone(cons.drainCh) {
		return nil
	}
	for i, q := range cons.queues {
		ch := chans[i%n]
		args := transports.ConsumeArgs{
			Queue:     q.name(),
			Tag:       cons.opts.tagPrefix + strconv.FormatUint(cons.c.tags.Add(1), 10),
			NoAck:     cons.opts.noAck,
			Exclusive: cons.opts.exclusive,
			Arguments: cons.opts.args,
		}
		sub, err := chanCall(ctx, ch, func(ctx context.Context, tch transports.Channel) (transports.Subscription, error) {
			return tch.Consume(ctx, args)
		})
		if err != nil {
			return err
		}
		subs = append(subs, subscription{ch: ch, tag: sub.Tag()})
		if cons.mux == nil {
			wg.Go(func() { cons.forward(sub, ch, cons.out, false, stop, ended) })
			continue
		}
		out := make(chan Delivery)
		remove, err := cons.mux.Add(out)
		if err != nil {
			return ErrClosed
		}
		removes = append(removes, remove)
		wg.Go(func() { cons.forward(sub, ch, out, true, stop, ended) })
	}
	cons.signalReady(nil)
	drain := cons.drainCh
	live := len(subs)
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-sess.tconn.Done():
			return wrapErr(sess.tconn.Err())
		case <-drain:
			drain = nil
			for _, s := range subs {
				_, err := chanCall(ctx, s.ch, func(ctx context.Context, tch transports.Channel) (struct{}, error) {
					return struct{}{}, tch.Cancel(ctx, s.tag)
				})
				if err != nil {
					return err
				}
			}
			cons.cancelled.fire()
		case err := <-ended:
			live--
			if drain == nil {
				if live == 0 {
					cons.endSubs()
					return nil
				}
				continue
			}
			if err == nil {
				err = fmt.Errorf("%w: subscription ended", transports.ErrConsumerCancelled)
			}
			return err
		}
	}
}

// forward moves one subscription's deliveries to out (its mux source,
// which it closes at the end when owned, or C), wrapping them, and rejects
// those the consumer must not hand out.
func (cons *Consumer) forward(sub transports.Subscription, ch *channel, out chan<- Delivery, owned bool, stop <-chan struct{}, ended chan<- error) {
	if owned {
		defer close(out)
	}
	in := sub.Deliveries()
	for {
		select {
		case td, ok := <-in:
			if !ok {
				ended <- sub.Err()
				return
			}
			d := cons.c.newDelivery(td, ch, cons.accept, cons.opts.noAck, cons.onSettle)
			if cons.poison(&d) {
				continue
			}
			if !cons.opts.noAck {
				cons.outstanding.Add(1)
			}
			select {
			case out <- d:
			case <-stop:
				cons.abandon(d)
				return
			}
		case <-stop:
			return
		}
	}
}

// poison rejects (without requeue) a delivery the user must not get: a
// content type outside the accept list, a body larger than
// Config.MaxMessageSize, or one that cannot be decompressed. It reports whether it did.
func (cons *Consumer) poison(d *Delivery) bool {
	reason := refusal(d, cons.accept)
	if reason == nil {
		return false
	}
	cons.c.cfg.Logger.Warn("conn: rejecting a message the consumer cannot accept",
		"queue", d.Info.Queue, "content_type", d.ContentType, "err", reason)
	if !cons.opts.noAck {
		d.st.onSettle = nil
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := d.Reject(ctx); err != nil {
			cons.c.cfg.Logger.Warn("conn: rejecting failed", "err", err)
		}
	}
	return true
}
