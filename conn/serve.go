package conn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/route"
)

// Handler handles one delivery for [Connection.Serve], as an http.Handler
// handles a request. Its error decides how Serve settles the delivery
// (see [Connection.Serve]); a handler may also settle the delivery itself.
type Handler interface {
	Handle(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Handle calls f(ctx, d).
func (f HandlerFunc) Handle(ctx context.Context, d *Delivery) error { return f(ctx, d) }

// Middleware wraps a [Handler] with behaviour of its own (logging,
// metrics, decoding), as net/http middleware does.
type Middleware func(Handler) Handler

// Chain returns h wrapped in mw, the first middleware outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// settleError carries a handler's explicit settle decision.
type settleError struct {
	err     error
	requeue bool
}

func (e *settleError) Error() string { return e.err.Error() }
func (e *settleError) Unwrap() error { return e.err }

// Requeue marks a handler error so that Serve requeues the delivery even
// if it was redelivered before. Requeue(nil) is nil.
func Requeue(err error) error {
	if err == nil {
		return nil
	}
	return &settleError{err: err, requeue: true}
}

// Reject marks a handler error so that Serve rejects the delivery (drops
// or dead-letters it) without requeueing. Reject(nil) is nil.
func Reject(err error) error {
	if err == nil {
		return nil
	}
	return &settleError{err: err}
}

// PanicError is the error Serve sees when a handler panicked.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("conn: handler panicked: %v", e.Value) }

// Serve consumes from queues as [Connection.Consume] does (same options)
// and calls h for every delivery, with [WithConcurrency] calls at once
// (default 1), until ctx ends or the consumer fails. Then it drains: the
// deliveries already received are still handled, and Serve returns once
// every handler returned. Handlers get a context that carries ctx's
// values but is not cancelled with it, so in-flight work can finish.
//
// Settle rule, unless the handler settled the delivery itself: a nil
// error acks; an error wrapped with [Requeue] requeues; one wrapped with
// [Reject] rejects; any other error, or a panic (recovered, as a
// [*PanicError]), requeues a first delivery and rejects a redelivered one,
// so a poison message is retried once and then dropped or dead-lettered.
//
// Serve returns nil after ctx ended and draining finished, and the
// consumer's error when it failed.
func (c *Connection) Serve(ctx context.Context, queues []route.Queue, h Handler, opts ...ConsumeOption) error {
	o, err := newConsumeOptions(opts)
	if err != nil {
		return err
	}
	if h == nil {
		return invalidOption("nil handler")
	}
	cons, err := c.Consume(ctx, queues, opts...)
	if err != nil {
		return err
	}
	hctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for d := range cons.C() {
				c.handle(hctx, h, &d)
			}
		})
	}
	select {
	case <-ctx.Done():
		_ = cons.Drain(hctx)
	case <-cons.Done():
	}
	wg.Wait()
	<-cons.Done()
	return cons.Err()
}

// handle runs h on d and settles d by the Serve rule.
func (c *Connection) handle(ctx context.Context, h Handler, d *Delivery) {
	err := callHandler(ctx, h, d)
	if d.Settled() {
		return
	}
	var serr error
	var se *settleError
	switch {
	case err == nil:
		serr = d.Ack(ctx)
	case errors.As(err, &se):
		serr = d.Nack(ctx, se.requeue)
	default:
		serr = d.Nack(ctx, !d.Info.Redelivered)
	}
	if err != nil {
		c.cfg.Logger.Warn("conn: handler failed", "queue", d.Info.Queue, "redelivered", d.Info.Redelivered, "err", err)
	}
	if serr != nil && !errors.Is(serr, ErrAlreadySettled) {
		c.cfg.Logger.Warn("conn: settling after the handler failed", "queue", d.Info.Queue, "err", serr)
	}
}

// callHandler calls h, turning a panic into a *PanicError.
func callHandler(ctx context.Context, h Handler, d *Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p}
		}
	}()
	return h.Handle(ctx, d)
}
