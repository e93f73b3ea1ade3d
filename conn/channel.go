package conn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/internal/actor"
	"github.com/kelpmq/kelp/transports"
)

// closeTimeout bounds closing a broker channel or connection when the
// caller's context has already ended.
const closeTimeout = 5 * time.Second

// channel owns one transports.Channel. Its actor goroutine receives the
// driver's confirmations and returns, resolves the publishers waiting for
// them, runs the calls sent to it, and tears the broker channel down when
// the channel stops or dies. Whoever calls the driver holds the channel's
// lock: the actor, or, for Publish, Ack and Nack on an [transports.Inline]
// channel, the publishing or settling goroutine itself, which then costs
// no hand-off to the actor (see ARCHITECTURE.md).
type channel struct {
	act    *actor.Actor
	ch     transports.Channel
	conn   *Connection
	epoch  uint64
	log    *slog.Logger
	inline bool // immutable: Publish, Ack and Nack are called inline

	// lock is held by whoever calls ch's methods: the SPI's rule that a
	// Channel is driven by one goroutine at a time. A channel of capacity
	// one rather than a sync.Mutex, so that waiting for it is bounded by
	// the caller's ctx and ends when the actor stops.
	lock chan struct{}
	// Guarded by lock.
	closed bool   // the actor's teardown took the broker channel: no more calls
	seq    uint64 // confirm mode: the sequence number of the last publish

	// Confirm mode. window is the connection's semaphore of unconfirmed
	// publishes: a publisher takes a slot, the actor frees it when the
	// publish is resolved.
	confirms   <-chan transports.Confirmation // owned by the actor; nil once closed
	confirming bool                           // immutable: confirms were enabled
	window     chan struct{}

	// pending holds the reply channel of every unconfirmed publish, by
	// sequence number: publishers add theirs (holding lock, before the
	// driver call, so that no confirmation can arrive first), the actor
	// removes them as it resolves them.
	pmu     sync.Mutex
	pending map[uint64]chan error

	returns <-chan transports.Return // owned by the actor
}

// newChannel opens a broker channel on sess and starts its actor. With
// confirm it puts the channel in confirm mode when the transport can.
func newChannel(ctx context.Context, c *Connection, sess *session, confirm bool) (*channel, error) {
	tch, err := sess.tconn.Channel(ctx)
	if err != nil {
		return nil, wrapErr(err)
	}
	ch := &channel{
		act:    actor.New(256),
		ch:     tch,
		lock:   make(chan struct{}, 1),
		conn:   c,
		epoch:  sess.epoch,
		log:    c.cfg.Logger,
		inline: isInline(tch),
	}
	if confirm {
		ch.confirms, err = confirmMode(ctx, tch, !c.cfg.DisableConfirms)
		if err != nil {
			closeQuietly(ctx, tch)
			return nil, wrapErr(err)
		}
		ch.returns = returnsOf(tch)
		if ch.confirms != nil {
			ch.confirming = true
			ch.window = c.window
			ch.pending = make(map[uint64]chan error)
		}
	}
	ch.act.Start(context.WithoutCancel(ctx), ch.run)
	return ch, nil
}

// closeQuietly closes a broker channel, bounded by closeTimeout even when
// ctx has ended.
func closeQuietly(ctx context.Context, tch interface{ Close(context.Context) error }) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	_ = tch.Close(cctx)
}

// run is the channel actor's owner loop.
func (c *channel) run(ctx context.Context) error {
	defer func() {
		// Wait for the caller inside a driver call, if any, and refuse
		// later ones before closing the broker channel.
		c.lock <- struct{}{}
		c.closed = true
		closeQuietly(ctx, c.ch)
		<-c.lock
		c.drainConfirms()
		c.failPending(c.ch.Err())
	}()
	for {
		select {
		case r := <-c.act.Mailbox():
			r.Run()
		case cf, ok := <-c.confirms:
			if !ok {
				c.confirms = nil
				continue
			}
			c.resolve(cf)
			c.resolveReady()
		case rt, ok := <-c.returns:
			if !ok {
				c.returns = nil
				continue
			}
			c.log.Warn("conn: unroutable mandatory message returned (publish without confirms)",
				"exchange", rt.Exchange, "routing_key", rt.RoutingKey, "code", rt.ReplyCode, "text", rt.ReplyText)
		case <-c.ch.Done():
			return wrapErr(c.ch.Err())
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// resolve settles the publish a confirmation is for and frees its slot.
func (c *channel) resolve(cf transports.Confirmation) {
	c.pmu.Lock()
	r, ok := c.pending[cf.Seq]
	delete(c.pending, cf.Seq)
	c.pmu.Unlock()
	if !ok {
		return
	}
	<-c.window
	var err error
	switch {
	case cf.Return != nil:
		err = &ReturnedError{ReplyCode: cf.Return.ReplyCode, ReplyText: cf.Return.ReplyText,
			Exchange: cf.Return.Exchange, RoutingKey: cf.Return.RoutingKey}
	case !cf.Ack:
		err = ErrNacked
	}
	r <- err
}

// resolveReady resolves the confirmations that are already waiting, a
// bounded number of them, without going back to the select of run for
// each: confirmations come in bursts.
func (c *channel) resolveReady() {
	for range 64 {
		select {
		case cf, ok := <-c.confirms:
			if !ok {
				c.confirms = nil
				return
			}
			c.resolve(cf)
		default:
			return
		}
	}
}

// drainConfirms resolves the confirmations the driver delivered before
// closing its confirmation channel (it closes it when the channel closes).
func (c *channel) drainConfirms() {
	if c.confirms == nil {
		return
	}
	for cf := range c.confirms {
		c.resolve(cf)
	}
	c.confirms = nil
}

// failPending resolves every unconfirmed publish as lost.
func (c *channel) failPending(cause error) {
	if cause == nil {
		cause = ErrChannelClosed
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for seq, r := range c.pending {
		delete(c.pending, seq)
		<-c.window
		r <- fmt.Errorf("%w: %w", ErrConfirmLost, wrapErr(cause))
	}
}

// dead reports whether the broker channel or its actor is gone.
func (c *channel) dead() bool {
	select {
	case <-c.ch.Done():
		return true
	case <-c.act.Done():
		return true
	default:
		return false
	}
}

// stale reports whether a delivery of epoch can no longer be settled here.
func (c *channel) stale(epoch uint64) bool {
	return epoch != c.epoch || c.conn.epoch.Load() != epoch || c.dead()
}

// stop stops the actor, which closes the broker channel, and waits.
func (c *channel) stop() {
	c.act.Stop(nil)
	_ = c.act.Wait()
}

// acquire takes the channel's lock for an inline call, waiting at most
// until ctx ends or the channel stops. It fails with an error matching
// [ErrChannelClosed] once the actor's teardown has taken the channel.
// (Calls on the actor need no such check: the actor takes the lock for
// the last time when it stops.)
func (c *channel) acquire(ctx context.Context) error {
	if err := c.take(ctx, c.lock); err != nil {
		return err
	}
	if c.closed {
		<-c.lock
		return c.closedErr()
	}
	return nil
}

// take puts a token in sem (the lock, or a slot of the confirm window),
// waiting at most until ctx ends or the actor stops.
func (c *channel) take(ctx context.Context, sem chan<- struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx)
	case <-c.act.Done():
		return c.closedErr()
	}
}

// release gives the lock back.
func (c *channel) release() { <-c.lock }

// closedErr is the error of a call on a stopped channel.
func (c *channel) closedErr() error {
	if cerr := c.ch.Err(); cerr != nil {
		return fmt.Errorf("%w: %w", ErrChannelClosed, wrapErr(cerr))
	}
	return fmt.Errorf("%w: %w", ErrChannelClosed, actor.ErrStopped)
}

// chanCall runs fn with the broker channel on the channel actor, which
// holds the channel's lock meanwhile. Errors are mapped to conn's
// taxonomy.
func chanCall[R any](ctx context.Context, c *channel, fn func(ctx context.Context, ch transports.Channel) (R, error)) (R, error) {
	r, err := actor.Call(ctx, c.act, func() (R, error) {
		c.lock <- struct{}{} // an inline caller's call is short
		defer c.release()
		return fn(ctx, c.ch)
	})
	return r, c.callErr(ctx, err)
}

// callErr maps an error of a driver call, made inline or on the actor.
func (c *channel) callErr(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && (errors.Is(err, ctx.Err()) || errors.Is(err, actor.ErrOutcomeUnknown)):
		return fmt.Errorf("%w: %w", ctxErr(ctx), err)
	case errors.Is(err, actor.ErrStopped):
		if cerr := c.ch.Err(); cerr != nil {
			return fmt.Errorf("%w: %w", ErrChannelClosed, wrapErr(cerr))
		}
		return fmt.Errorf("%w: %w", ErrChannelClosed, err)
	}
	return wrapErr(err)
}

// settle acks or rejects a delivery tag.
func (c *channel) settle(ctx context.Context, tag uint64, op settleOp) error {
	if !c.inline {
		_, err := chanCall(ctx, c, func(ctx context.Context, ch transports.Channel) (struct{}, error) {
			return struct{}{}, settleCall(ctx, ch, tag, op)
		})
		return err
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	err := settleCall(ctx, c.ch, tag, op)
	c.release()
	return c.callErr(ctx, err)
}

// settleCall makes the driver call of a settle.
func settleCall(ctx context.Context, ch transports.Channel, tag uint64, op settleOp) error {
	switch op {
	case settleAck:
		return ch.Ack(ctx, tag, false)
	case settleRequeue:
		return ch.Nack(ctx, tag, false, true)
	default:
		return ch.Nack(ctx, tag, false, false)
	}
}

// publish sends p and, in confirm mode, waits for the broker's verdict.
func (c *channel) publish(ctx context.Context, p transports.Publishing) error {
	if !c.inline {
		return c.publishOnActor(ctx, p)
	}
	if !c.confirming {
		if err := c.acquire(ctx); err != nil {
			return err
		}
		_, err := c.ch.Publish(ctx, p)
		c.release()
		return c.callErr(ctx, err)
	}
	if err := c.take(ctx, c.window); err != nil {
		return err
	}
	if err := c.acquire(ctx); err != nil {
		<-c.window
		return err
	}
	// The SPI numbers confirmed publishes 1, 2, 3, ... without gaps, so
	// the reply is registered under the next number before the driver
	// call: its confirmation may reach the actor before Publish returns.
	next := c.seq + 1
	r := confirmChans.Get().(chan error)
	c.pmu.Lock()
	c.pending[next] = r
	c.pmu.Unlock()
	seq, err := c.ch.Publish(ctx, p)
	if err == nil && seq != next {
		err = fmt.Errorf("conn: the transport numbered a publish %d, expected %d", seq, next)
	}
	if err != nil {
		c.pmu.Lock()
		_, mine := c.pending[next]
		delete(c.pending, next)
		c.pmu.Unlock()
		c.release()
		if mine {
			// Nothing resolved it: its slot is still taken and r is
			// empty.
			<-c.window
			confirmChans.Put(r)
		}
		return c.callErr(ctx, err)
	}
	c.seq = seq
	c.release()
	return c.verdict(ctx, r)
}

// publishOnActor is publish for a channel that is not Inline: the actor
// calls the driver, and registers the reply before it handles the next
// confirmation.
func (c *channel) publishOnActor(ctx context.Context, p transports.Publishing) error {
	confirming := c.confirming
	if confirming {
		if err := c.take(ctx, c.window); err != nil {
			return err
		}
	}
	var ran atomic.Bool
	res, err := actor.Call(ctx, c.act, func() (chan error, error) {
		ran.Store(true)
		c.lock <- struct{}{}
		seq, err := c.ch.Publish(ctx, p)
		if err == nil && confirming {
			c.seq = seq
		}
		c.release()
		if err != nil {
			if confirming {
				<-c.window
			}
			return nil, err
		}
		if !confirming {
			return nil, nil
		}
		r := confirmChans.Get().(chan error)
		c.pmu.Lock()
		c.pending[seq] = r
		c.pmu.Unlock()
		return r, nil
	})
	if err != nil {
		if confirming && !ran.Load() {
			<-c.window
		}
		return c.callErr(ctx, err)
	}
	if res == nil {
		return nil
	}
	return c.verdict(ctx, res)
}

// verdict waits for the confirmation of a publish.
func (c *channel) verdict(ctx context.Context, r chan error) error {
	select {
	case err := <-r:
		// Nothing refers to r any more: resolve and failPending
		// deleted it from pending before sending the one value.
		confirmChans.Put(r)
		return err
	case <-ctx.Done():
		return ctxErr(ctx) // r may still receive its verdict: never reused
	}
}

// confirmChans recycles the channels on which the actor hands a confirmed
// publish its verdict: a channel of an interface type is two allocations,
// and a confirmed publish needs one each time.
var confirmChans = sync.Pool{New: func() any { return make(chan error, 1) }}
