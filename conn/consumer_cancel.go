package conn

import (
	"context"
	"sync"
)

// cancelSignal tells [Consumer.Cancel] that the broker accepted the
// cancellation of every subscription of the live session.
type cancelSignal struct {
	once sync.Once
	ch   chan struct{}
}

// get returns the signal's channel, made on first use so that the
// Consumer's zero value of this field works.
func (s *cancelSignal) get() chan struct{} {
	s.once.Do(func() { s.ch = make(chan struct{}) })
	return s.ch
}

// fire closes the signal's channel once.
func (s *cancelSignal) fire() {
	ch := s.get()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// Cancel stops the broker from sending the consumer more messages, as
// AMQP's basic.cancel does, and returns once the broker confirmed it for
// every queue (bounded by ctx), without waiting for the user to read or
// settle anything. It is the first half of [Consumer.Drain]; the
// consumer stays alive, and its broker channels open, until
// [Consumer.Stop] or [Consumer.Drain].
//
// The rule for deliveries the broker sent before the cancellation took
// effect (at most the prefetch count per channel): they are still handed
// out on [Consumer.C], which is closed after the last of them, and they
// are settled as usual. To give them back, [Delivery.Requeue] them, or
// call Stop, which requeues every delivery not yet settled. With
// [WithPrefetch](1), a consumer that calls Cancel while it holds an
// unsettled delivery is sent nothing more: this is how "take exactly N
// messages" leaves the rest of the queue untouched, none of it marked
// redelivered.
//
// If the connection is reconnecting, Cancel waits for it (bounded by ctx)
// or for the consumer to end; the consumer does not subscribe again.
// Cancel may be called more than once and concurrently with Drain; it
// returns ctx's error if ctx ended first (the cancellation stands all the
// same: the consumer will not subscribe again), and nil if the consumer
// has already ended.
func (cons *Consumer) Cancel(ctx context.Context) error {
	cons.drainOnce.Do(func() { close(cons.drainCh) })
	select {
	case <-cons.cancelled.get():
	case <-cons.subsEnded:
	case <-cons.act.Done():
	case <-ctx.Done():
		return ctxErr(ctx)
	}
	return nil
}
