package benchmarks

import (
	"context"
	"errors"
	"fmt"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// ErrNacked reports a publish the broker refused with basic.nack, or whose
// channel closed before it was confirmed.
var ErrNacked = errors.New("benchmarks: publish nacked")

// ConfirmPublisher publishes with confirms on one amqp091-go channel for
// any number of goroutines, each waiting for its own confirmation, with at
// most a window of publishes in flight: the best hand-written form of a
// blocking confirmed publish on the raw library. amqp091 serializes the
// publishes on the channel and maps each confirmation back to its
// publish ([amqp091.DeferredConfirmation]); no goroutine is needed.
type ConfirmPublisher struct {
	ch     *amqp091.Channel
	window chan struct{}
}

// NewConfirmPublisher puts ch in confirm mode and returns a publisher
// with at most window unconfirmed publishes (at least 1).
func NewConfirmPublisher(ch *amqp091.Channel, window int) (*ConfirmPublisher, error) {
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("benchmarks: confirm mode: %w", err)
	}
	return &ConfirmPublisher{ch: ch, window: make(chan struct{}, max(window, 1))}, nil
}

// Publish publishes msg and waits, bounded by ctx, until the broker
// confirmed it. It fails with [ErrNacked] when the broker refused it.
func (p *ConfirmPublisher) Publish(ctx context.Context, exchange, key string, msg amqp091.Publishing) error {
	select {
	case p.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.window }()
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
	if err != nil {
		return fmt.Errorf("benchmarks: publish: %w", err)
	}
	return confirmed(ctx, dc)
}

// confirmed waits for dc's confirmation, bounded by ctx.
func confirmed(ctx context.Context, dc *amqp091.DeferredConfirmation) error {
	ok, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrNacked
	}
	return nil
}

// Fill publishes n copies of msg to the queue named key through the
// default exchange from one goroutine, pipelining up to window
// confirmations, and returns once every one was confirmed. ch must be in
// confirm mode already or able to enter it.
func Fill(ctx context.Context, ch *amqp091.Channel, key string, n, window int, msg amqp091.Publishing) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("benchmarks: confirm mode: %w", err)
	}
	window = max(window, 1)
	ring := make([]*amqp091.DeferredConfirmation, window) // publish i waits in slot i%window
	for i := range n {
		if i >= window {
			if err := confirmed(ctx, ring[i%window]); err != nil {
				return err
			}
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", key, false, false, msg)
		if err != nil {
			return fmt.Errorf("benchmarks: publish: %w", err)
		}
		ring[i%window] = dc
	}
	for i := max(0, n-window); i < n; i++ {
		if err := confirmed(ctx, ring[i%window]); err != nil {
			return err
		}
	}
	return nil
}

// AMQP091 is the raw amqp091-go implementation on the RabbitMQ at url,
// written as an expert would: confirmed publishes share one channel with
// a window of [DefaultWindow] ([ConfirmPublisher]), unconfirmed ones go
// straight to a channel, and the consumer acks each delivery.
func AMQP091(url string) Target {
	return Target{Impl: "amqp091", Transport: "amqp", Open: func(ctx context.Context) (Session, error) {
		c, err := amqp091.Dial(url)
		if err != nil {
			return nil, fmt.Errorf("benchmarks: dial: %w", err)
		}
		ch, err := c.Channel()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("benchmarks: channel: %w", err)
		}
		return &amqpSession{c: c, ctl: ch}, nil
	}}
}

// DefaultWindow is the raw baselines' confirm window: kelp's default.
const DefaultWindow = 256

// amqpSession is one amqp091 connection with a control channel.
type amqpSession struct {
	c   *amqp091.Connection
	ctl *amqp091.Channel
}

// NewQueue implements Session.
func (s *amqpSession) NewQueue(ctx context.Context, bindings int) (string, error) {
	if bindings > 0 {
		return "", ErrUnsupported
	}
	q, err := s.ctl.QueueDeclare(Unique("bench"), false, false, false, false, nil)
	return q.Name, err
}

// Publisher implements Session.
func (s *amqpSession) Publisher(ctx context.Context, queue string, confirm bool) (Publisher, error) {
	ch, err := s.c.Channel()
	if err != nil {
		return nil, err
	}
	msg := func(body []byte) amqp091.Publishing {
		return amqp091.Publishing{ContentType: "application/data", ContentEncoding: "binary",
			DeliveryMode: amqp091.Transient, Body: body}
	}
	if !confirm {
		return func(ctx context.Context, body []byte) error {
			return ch.PublishWithContext(ctx, "", queue, false, false, msg(body))
		}, nil
	}
	p, err := NewConfirmPublisher(ch, DefaultWindow)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, body []byte) error { return p.Publish(ctx, "", queue, msg(body)) }, nil
}

// Fill implements Session.
func (s *amqpSession) Fill(ctx context.Context, queue string, n int, body []byte) error {
	ch, err := s.c.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return Fill(ctx, ch, queue, n, DefaultWindow, amqp091.Publishing{ContentType: "application/data",
		ContentEncoding: "binary", DeliveryMode: amqp091.Transient, Body: body})
}

// Consume implements Session.
func (s *amqpSession) Consume(ctx context.Context, queue string, prefetch int, fn func([]byte)) (func(), error) {
	ch, err := s.c.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return nil, err
	}
	deliveries, err := ch.ConsumeWithContext(ctx, queue, "", false, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range deliveries {
			if d.Ack(false) != nil {
				return
			}
			fn(d.Body)
		}
	}()
	return func() {
		_ = ch.Close() // closes deliveries
		<-done
	}, nil
}

// DeleteQueue implements Session.
func (s *amqpSession) DeleteQueue(ctx context.Context, queue string) error {
	_, err := s.ctl.QueueDelete(queue, false, false, false)
	return err
}

// Close implements Session.
func (s *amqpSession) Close(ctx context.Context) error { return s.c.Close() }
