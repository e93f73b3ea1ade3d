package amqp

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// subscription is one consumer. Its relay goroutine converts amqp091's
// deliveries and hands them on, one at a time, on out.
type subscription struct {
	ch    *channel
	tag   string
	queue string
	out   chan transports.Delivery

	cancelled atomic.Bool // Cancel succeeded: the consumer ends with nil

	mu  sync.Mutex
	err error
}

var _ transports.Subscription = (*subscription)(nil)

func (s *subscription) Tag() string                            { return s.tag }
func (s *subscription) Deliveries() <-chan transports.Delivery { return s.out }

// Err is nil until Deliveries is closed, then why the consumer ended.
func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// relay hands on the deliveries of in until amqp091 closes it (the consumer
// was cancelled, by Cancel or by the broker, or the channel died) or the
// channel is released. out is unbuffered: what waits between the broker
// and the receiver is amqp091's per-consumer queue, bounded by the prefetch
// count (unbounded for no-ack consumers), plus the one delivery in hand.
func (s *subscription) relay(in <-chan amqp091.Delivery) {
	ch := s.ch
	defer ch.c.wg.Done()
	defer ch.wg.Done()
	defer close(s.out)
	for {
		select {
		case d, ok := <-in:
			if !ok {
				s.end(s.reason())
				return
			}
			select {
			case s.out <- toDelivery(&d, s.queue):
			case <-ch.quit:
				s.end(ch.Err())
				return
			}
		case <-ch.quit:
			s.end(ch.Err())
			return
		}
	}
}

// reason says why amqp091 ended the consumer. amqp091 notifies a broker
// cancellation, and a channel death with an error, before it closes the
// deliveries, so after a sync the channel knows of them. A clean shutdown
// (this driver's Close of the channel or connection) is not notified before
// the deliveries close, but the closing flags were set before it began.
func (s *subscription) reason() error {
	ch := s.ch
	ch.ev.sync()
	ch.mu.Lock()
	cancelled, err, closing := ch.brokerCx[s.tag], ch.err, ch.closing
	delete(ch.brokerCx, s.tag)
	ch.mu.Unlock()
	switch {
	case cancelled:
		return fmt.Errorf("amqp: consumer %q on queue %q: %w", s.tag, s.queue, transports.ErrConsumerCancelled)
	case err != nil:
		return err
	case closing || ch.c.isClosing():
		return transports.ErrClosed
	}
	return nil // Cancel: the channel lives on
}

func (s *subscription) end(err error) {
	if s.cancelled.Load() {
		err = nil
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// consumerSeq numbers the consumer tags the driver chooses.
var consumerSeq atomic.Uint64

// tagPrefix makes the driver's consumer tags unique across processes.
var tagPrefix = "kelp." + rand.Text()[:8] + "."

// Consume starts a consumer with basic.consume.
func (ch *channel) Consume(ctx context.Context, args transports.ConsumeArgs) (transports.Subscription, error) {
	cargs, err := toAMQPTable("consumer arguments", args.Arguments)
	if err != nil {
		return nil, err
	}
	tag := args.Tag
	if tag == "" {
		tag = fmt.Sprintf("%s%d", tagPrefix, consumerSeq.Add(1))
	}
	var in <-chan amqp091.Delivery
	err = ch.do(ctx, "consume", func() (err error) {
		in, err = ch.ach.Consume(args.Queue, tag, args.NoAck, args.Exclusive, false, false, cargs)
		return err
	})
	if err != nil {
		return nil, err
	}
	s := &subscription{ch: ch, tag: tag, queue: args.Queue, out: make(chan transports.Delivery)}
	if !ch.c.goroutine() {
		// Conn.Close has begun: it ends the consumer with the connection.
		return nil, fmt.Errorf("amqp: consume: %w", transports.ErrClosed)
	}
	ch.subs[tag] = s
	ch.wg.Add(1)
	go s.relay(in)
	return s, nil
}

// Cancel stops a consumer with basic.cancel and waits for cancel-ok; the
// deliveries amqp091 has buffered are still handed on. Unknown tags are a
// no-op.
func (ch *channel) Cancel(ctx context.Context, consumerTag string) error {
	s, ok := ch.subs[consumerTag]
	if !ok {
		return nil
	}
	if err := ch.do(ctx, "cancel", func() error { return ch.ach.Cancel(consumerTag, false) }); err != nil {
		return err
	}
	s.cancelled.Store(true)
	delete(ch.subs, consumerTag)
	return nil
}

// Get fetches one message with basic.get. MessageCount is the number of
// messages left in the queue.
func (ch *channel) Get(ctx context.Context, queue string, noAck bool) (transports.Delivery, bool, error) {
	var d amqp091.Delivery
	var ok bool
	err := ch.do(ctx, "get", func() (err error) {
		d, ok, err = ch.ach.Get(queue, noAck)
		return err
	})
	if err != nil || !ok {
		return transports.Delivery{}, false, err
	}
	return toDelivery(&d, queue), true, nil
}

// Ack sends basic.ack. An unknown tag closes the channel asynchronously
// with 406 PRECONDITION_FAILED.
func (ch *channel) Ack(ctx context.Context, tag uint64, multiple bool) error {
	return ch.settle(ctx, "ack", settleArgs{tag: tag, multiple: multiple, ack: true})
}

// Nack sends basic.nack with multiple, basic.reject without.
func (ch *channel) Nack(ctx context.Context, tag uint64, multiple, requeue bool) error {
	return ch.settle(ctx, "nack", settleArgs{tag: tag, multiple: multiple, requeue: requeue})
}

// settleArgs are the arguments of settleJob.
type settleArgs struct {
	tag                    uint64
	ack, multiple, requeue bool
}

func (ch *channel) settle(ctx context.Context, what string, a settleArgs) error {
	if err := ch.Err(); err != nil { // see pubArgs
		return fmt.Errorf("amqp: %s: %w", what, err)
	}
	ch.ackArgs = a
	return ch.do(ctx, what, ch.settleFn)
}

func (ch *channel) settleJob() error {
	a := ch.ackArgs
	switch {
	case a.ack:
		return ch.ach.Ack(a.tag, a.multiple)
	case a.multiple:
		return ch.ach.Nack(a.tag, true, a.requeue)
	}
	return ch.ach.Reject(a.tag, a.requeue)
}

// Qos sends basic.qos. RabbitMQ applies a non-global limit to each consumer
// started afterwards and a global one to the whole channel. PrefetchCount
// must be 0..65535 ([ErrInvalidArgument] otherwise). PrefetchSize is
// ignored, as the SPI allows: RabbitMQ refuses any value but 0 with 540
// NOT_IMPLEMENTED, which would close the whole connection.
func (ch *channel) Qos(ctx context.Context, q transports.Qos) error {
	if q.PrefetchCount < 0 || q.PrefetchCount > math.MaxUint16 {
		return fmt.Errorf("%w: prefetch count %d out of range 0..65535", ErrInvalidArgument, q.PrefetchCount)
	}
	return ch.do(ctx, "qos", func() error { return ch.ach.Qos(q.PrefetchCount, 0, q.Global) })
}

// Recover sends basic.recover with requeue. RabbitMQ implements only
// requeue true (false closes the connection with 540), so requeue false
// fails with [transports.ErrUnsupported] before anything is sent.
func (ch *channel) Recover(ctx context.Context, requeue bool) error {
	if !requeue {
		return fmt.Errorf("amqp: recover without requeue: %w (RabbitMQ implements only requeue true)", transports.ErrUnsupported)
	}
	return ch.do(ctx, "recover", func() error { return ch.ach.Recover(true) })
}
