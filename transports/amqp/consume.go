package amqp

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"slices"
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
			s.ch.acks.add(d.DeliveryTag)
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
	if ch.consumed || args.NoAck {
		// Before basic.consume: from now on deliveries of several
		// consumers interleave, and acks cannot be merged safely.
		ch.acks.disable()
	} else {
		ch.acks.enable()
	}
	var in <-chan amqp091.Delivery
	err = ch.do(ctx, "consume", func() (err error) {
		in, err = ch.ach.Consume(args.Queue, tag, args.NoAck, args.Exclusive, false, false, cargs)
		return err
	})
	if err != nil {
		return nil, err
	}
	ch.consumed = true
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
	ch.acks.disable()
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

// Ack queues basic.ack for the channel's worker and returns without
// waiting for the write (it waits only while the worker's queue is full,
// bounded by ctx). An unknown tag closes the channel asynchronously with
// 406 PRECONDITION_FAILED, and a write that fails kills the channel.
func (ch *channel) Ack(ctx context.Context, tag uint64, multiple bool) error {
	return ch.settle(ctx, "ack", settleArgs{tag: tag, multiple: multiple, ack: true})
}

// Nack queues basic.nack with multiple, basic.reject without, as Ack does.
func (ch *channel) Nack(ctx context.Context, tag uint64, multiple, requeue bool) error {
	return ch.settle(ctx, "nack", settleArgs{tag: tag, multiple: multiple, requeue: requeue})
}

// settleArgs are the arguments of a queued settle.
type settleArgs struct {
	tag                    uint64
	ack, multiple, requeue bool
}

func (ch *channel) settle(ctx context.Context, what string, a settleArgs) error {
	if err := ch.Err(); err != nil {
		return fmt.Errorf("amqp: %s: %w", what, err)
	}
	return ch.enqueue(ctx, what, job{st: a})
}

// settleBatch sends the settles the worker took in one turn, in order,
// except that the acks the tracker merges go first, as one basic.ack with
// multiple. It returns the first error.
func (ch *channel) settleBatch(batch []settleArgs) error {
	upTo := ch.acks.merge(batch)
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if upTo > 0 {
		keep(ch.ach.Ack(upTo, true))
	}
	for _, a := range batch {
		switch {
		case a.ack && !a.multiple && a.tag <= upTo:
			// merged
		case a.ack:
			keep(ch.ach.Ack(a.tag, a.multiple))
		case a.multiple:
			keep(ch.ach.Nack(a.tag, true, a.requeue))
		default:
			keep(ch.ach.Reject(a.tag, a.requeue))
		}
	}
	return first
}

// ackTracker knows the unsettled delivery tags of a channel while that is
// exact: while the channel has had a single consumer, not no-ack, and no
// basic.get or basic.recover. Then deliveries reach the relay in tag
// order, so when the user acks a tag every smaller one still unsettled has
// been recorded. That lets the worker send a burst of acks as one
// basic.ack with multiple, which acks every unsettled delivery up to its
// tag: it merges the acks of the burst that are, in order, the channel's
// oldest unsettled tags. Once exactness is lost the tracker is off for
// good and every settle goes out alone.
type ackTracker struct {
	mu      sync.Mutex
	on      bool
	off     bool     // disabled for good
	tags    []uint64 // unsettled, ascending
	buf     []uint64 // the array tags starts over in when empty
	scratch []uint64
}

// enable starts tracking, unless it was disabled. Called before the first
// basic.consume.
func (t *ackTracker) enable() {
	t.mu.Lock()
	t.on = !t.off
	t.mu.Unlock()
}

// disable stops tracking for good. Called before any call that would make
// it inexact.
func (t *ackTracker) disable() {
	t.mu.Lock()
	t.on, t.off, t.tags, t.buf = false, true, nil, nil
	t.mu.Unlock()
}

// add records a delivery handed on by the relay.
func (t *ackTracker) add(tag uint64) {
	t.mu.Lock()
	if t.on {
		if len(t.tags) == 0 {
			t.tags = t.buf[:0]
		}
		t.tags = append(t.tags, tag)
		if cap(t.tags) > cap(t.buf) {
			t.buf = t.tags[:0]
		}
	}
	t.mu.Unlock()
}

// merge forgets the tags batch settles and returns the tag up to which the
// batch's single acks can go out as one multiple ack (they are then the
// oldest unsettled tags, at least two of them), or 0.
func (t *ackTracker) merge(batch []settleArgs) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return 0
	}
	s := t.scratch[:0]
	for _, a := range batch {
		if a.ack && !a.multiple {
			s = append(s, a.tag)
		}
	}
	slices.Sort(s)
	t.scratch = s
	n := 0
	for n < len(s) && n < len(t.tags) && t.tags[n] == s[n] {
		n++
	}
	var upTo uint64
	if n >= 2 {
		upTo = s[n-1]
		t.tags = t.tags[n:]
	}
	for _, a := range batch {
		switch {
		case a.ack && !a.multiple && a.tag <= upTo:
		case a.multiple:
			i, _ := slices.BinarySearch(t.tags, a.tag+1)
			t.tags = t.tags[i:]
		default:
			if i, ok := slices.BinarySearch(t.tags, a.tag); ok {
				t.tags = slices.Delete(t.tags, i, i+1)
			}
		}
	}
	return upTo
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
	ch.acks.disable() // redelivered messages get new tags
	return ch.do(ctx, "recover", func() error { return ch.ach.Recover(true) })
}
