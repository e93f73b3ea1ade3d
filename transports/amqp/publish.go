package amqp

import (
	"context"
	"fmt"
	"sync"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// Publish queues p for the channel's worker, which sends it with
// basic.publish in call order, and returns without waiting for the write:
// in confirm mode the confirmation reports the outcome, and a write that
// fails kills the channel (so conn resolves the publish as lost). It waits
// only while the worker's queue is full, bounded by ctx. In confirm mode it
// returns the publish's sequence number. A mandatory publish in confirm
// mode is remembered until its confirmation, to match a return to it (see
// the package documentation).
//
// A missing exchange closes the channel asynchronously (the 404 shows in
// Err); a header value with no AMQP type, or headers RabbitMQ would close
// the channel or the connection for (see checkPublishing), fail with
// [ErrInvalidArgument] before anything is sent.
func (ch *channel) Publish(ctx context.Context, p transports.Publishing) (uint64, error) {
	msg, err := toPublishing(p.Message)
	if err != nil {
		return 0, err
	}
	if err := checkPublishing(msg, ch.c.ac.Config.FrameSize); err != nil {
		return 0, err
	}
	if err := ch.Err(); err != nil {
		return 0, fmt.Errorf("amqp: publish: %w", err)
	}
	var seq uint64
	if ch.confirming {
		seq = ch.seq + 1
		if p.Mandatory {
			// Recorded before sending: the confirmation may be handled
			// before the send call returns.
			ch.pmu.Lock()
			ch.pending[seq] = p
			ch.pmu.Unlock()
		}
	}
	a := pubArgsPool.Get().(*publishArgs)
	*a = publishArgs{exchange: p.Exchange, key: p.RoutingKey, mandatory: p.Mandatory, msg: msg}
	if err := ch.enqueue(ctx, "publish", job{pub: a}); err != nil {
		if seq != 0 && p.Mandatory {
			ch.pmu.Lock()
			delete(ch.pending, seq)
			ch.pmu.Unlock()
		}
		return 0, err
	}
	ch.seq = seq
	return seq, nil
}

// publishArgs are the arguments of a queued publish.
type publishArgs struct {
	exchange, key string
	mandatory     bool
	msg           amqp091.Publishing
}

// pubArgsPool recycles queued publishes: the worker returns each one,
// cleared, once it is sent.
var pubArgsPool = sync.Pool{New: func() any { return new(publishArgs) }}

// Confirm puts the channel in confirm mode (confirm.select) and returns the
// Go channel of its confirmations, in sequence order, one per publish. It is
// closed when the channel closes or dies; publishes not confirmed by then
// never will be (they are not reported as nacked).
func (ch *channel) Confirm(ctx context.Context) (<-chan transports.Confirmation, error) {
	if ch.confirming {
		return ch.ev.confirmsOut, nil
	}
	if err := ch.do(ctx, "confirm", func() error { return ch.ach.Confirm(false) }); err != nil {
		return nil, err
	}
	ch.confirming = true
	// Returns of earlier publishes arrived before confirm.select-ok and so
	// are already in the events goroutine's buffer: they still go to
	// Returns. Later ones wait for their confirmations.
	ch.ev.enterConfirmMode()
	return ch.ev.confirmsOut, nil
}

// Returns returns the Go channel of messages returned outside confirm mode.
// It queues every return (the queue holds at most the returned publishes)
// and is closed when the channel closes or dies.
func (ch *channel) Returns() <-chan transports.Return { return ch.ev.returnsOut }
