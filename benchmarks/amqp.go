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
