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

// channel is the actor that alone drives one transports.Channel: every
// broker call on it runs on the actor goroutine, which also receives its
// confirmations and returns. It never blocks on a caller: replies travel
// on buffered channels.
type channel struct {
	act   *actor.Actor
	ch    transports.Channel
	conn  *Connection
	epoch uint64
	log   *slog.Logger

	// Confirm mode. window is the connection's semaphore of unconfirmed
	// publishes: a publisher takes a slot, the actor frees it when the
	// publish is resolved.
	confirms   <-chan transports.Confirmation // owned by the actor; nil once closed
	confirming bool                           // immutable: confirms were enabled
	window     chan struct{}

	// Owned by the actor goroutine.
	pending map[uint64]chan error // by publish sequence number
	returns <-chan transports.Return
}

// newChannel opens a broker channel on sess and starts its actor. With
// confirm it puts the channel in confirm mode when the transport can.
func newChannel(ctx context.Context, c *Connection, sess *session, confirm bool) (*channel, error) {
	tch, err := sess.tconn.Channel(ctx)
	if err != nil {
		return nil, wrapErr(err)
	}
	ch := &channel{
		act:   actor.New(256),
		ch:    tch,
		conn:  c,
		epoch: sess.epoch,
		log:   c.cfg.Logger,
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
		closeQuietly(ctx, c.ch)
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
	r, ok := c.pending[cf.Seq]
	if !ok {
		return
	}
	delete(c.pending, cf.Seq)
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

// chanCall runs fn with the broker channel on the channel actor. Errors are
// mapped to conn's taxonomy.
func chanCall[R any](ctx context.Context, c *channel, fn func(ctx context.Context, ch transports.Channel) (R, error)) (R, error) {
	r, err := actor.Call(ctx, c.act, func() (R, error) { return fn(ctx, c.ch) })
	return r, c.callErr(ctx, err)
}

// callErr maps an error of a call on the channel actor.
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

// settle acks or rejects a delivery tag on the actor.
func (c *channel) settle(ctx context.Context, tag uint64, op settleOp) error {
	_, err := chanCall(ctx, c, func(ctx context.Context, ch transports.Channel) (struct{}, error) {
		switch op {
		case settleAck:
			return struct{}{}, ch.Ack(ctx, tag, false)
		case settleRequeue:
			return struct{}{}, ch.Nack(ctx, tag, false, true)
		default:
			return struct{}{}, ch.Nack(ctx, tag, false, false)
		}
	})
	return err
}

// publish sends p and, in confirm mode, waits for the broker's verdict.
func (c *channel) publish(ctx context.Context, p transports.Publishing) error {
	confirming := c.confirming
	if confirming {
		select {
		case c.window <- struct{}{}:
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-c.act.Done():
			return fmt.Errorf("%w: %w", ErrChannelClosed, c.act.Err())
		}
	}
	var ran atomic.Bool
	res, err := actor.Call(ctx, c.act, func() (chan error, error) {
		ran.Store(true)
		seq, err := c.ch.Publish(ctx, p)
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
		c.pending[seq] = r
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
	select {
	case err := <-res:
		// Nothing refers to res any more: resolve and failPending
		// deleted it from pending before sending the one value.
		confirmChans.Put(res)
		return err
	case <-ctx.Done():
		return ctxErr(ctx) // res may still receive its verdict: never reused
	}
}

// confirmChans recycles the channels on which the actor hands a confirmed
// publish its verdict: a channel of an interface type is two allocations,
// and a confirmed publish needs one each time.
var confirmChans = sync.Pool{New: func() any { return make(chan error, 1) }}
