package virtual

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// Publish routes a message and stores it in every queue it routes to (or,
// for a fanout exchange of a [Broadcaster] store, broadcasts it once). A
// message routed to several queues is copied for all but the first, so
// every receiver owns its Delivery. With a [BatchPutter] store the
// message is queued for the channel's writer, which stores it with the
// other publishes of the moment and then confirms it (see BatchPutter).
// Otherwise the confirmation is ready when Publish returns: an ack when
// every queue took the message
// (the store write succeeded), a nack when a queue refused it
// (x-overflow reject-publish) or when a nack was injected
// ([Broker.NackPublishes]). An unroutable mandatory message comes back
// with code 312 in the Confirmation, or outside confirm mode on Returns
// (only once Returns has been called). While the Broker is blocked
// ([Broker.Block]) Publish waits until it is unblocked or ctx ends.
func (ch *Channel) Publish(ctx context.Context, p transports.Publishing) (uint64, error) {
	if err := ch.check(ctx, "basic.publish"); err != nil {
		return 0, err
	}
	if err := ch.b.waitUnblocked(ctx, ch); err != nil {
		return 0, err
	}
	ttl, hasTTL, err := parseExpiration(p.Expiration)
	if err != nil {
		return 0, ch.fail(err)
	}
	s := &ch.scratch
	if err := ch.b.route(ctx, p.Exchange, p.RoutingKey, p.Headers, s, true); err != nil {
		return 0, ch.fail(err)
	}
	routed := len(s.queues) > 0
	if ch.b.putter != nil {
		if ch.b.nackNext.Load() == 0 && !(s.fanout && ch.b.bcast != nil) {
			seq, done, err := ch.publishAsync(ctx, p, ttl, hasTTL)
			if done {
				clear(s.queues)
				return seq, err
			}
		}
		// The synchronous path: after the publishes queued before.
		if err := ch.flushPublishes(ctx); err != nil {
			clear(s.queues)
			return 0, fmt.Errorf("virtual: basic.publish: %w", err)
		}
	}
	ack := !ch.b.takeNack()
	if ack && s.fanout && ch.b.bcast != nil {
		s.env = Envelope{Message: p.Message, Exchange: p.Exchange, RoutingKey: p.RoutingKey}
		done, err := ch.b.bcast.Broadcast(ctx, p.Exchange, &s.env)
		s.env = Envelope{}
		if err != nil {
			clear(s.queues)
			return 0, ch.fail(storeError("basic.publish", err))
		}
		if done {
			clear(s.queues)
			s.queues = s.queues[:0]
		}
	}
	if ack {
		now := time.Now()
		// s.env is reused: stores copy what Put hands them, and a local
		// would escape through the Backend interface.
		env := &s.env
		for i, q := range s.queues {
			*env = Envelope{Message: p.Message, Exchange: p.Exchange, RoutingKey: p.RoutingKey}
			if i > 0 {
				env.Body = bytes.Clone(env.Body)
				env.Headers = env.Headers.Clone()
			}
			ok, err := q.enqueue(ctx, env, ttl, hasTTL, now)
			if err != nil {
				*env = Envelope{}
				clear(s.queues)
				return 0, ch.fail(err)
			}
			ack = ack && ok
		}
		*env = Envelope{}
	}
	clear(s.queues)

	var ret *transports.Return
	if !routed && p.Mandatory {
		ret = &transports.Return{ReplyCode: 312, ReplyText: "NO_ROUTE", Publishing: p}
	}
	ch.mu.Lock()
	confirms, returns := ch.confirms, ch.returns
	var seq uint64
	if confirms != nil {
		ch.seq++
		seq = ch.seq
	}
	ch.mu.Unlock()
	switch {
	case confirms != nil:
		confirms.push(transports.Confirmation{Seq: seq, Ack: ack, Return: ret})
	case ret != nil && returns != nil:
		returns.push(*ret)
	}
	return seq, nil
}

// parseExpiration reads the per-message TTL, a decimal number of
// milliseconds. Anything else is a 406, as RabbitMQ answers.
func parseExpiration(s string) (time.Duration, bool, error) {
	if s == "" {
		return 0, false, nil
	}
	ms, err := strconv.ParseUint(s, 10, 63)
	if err != nil || ms > uint64(time.Duration(1<<63-1)/time.Millisecond) {
		return 0, false, brokerError(406, "invalid expiration '%s'", s)
	}
	return time.Duration(ms) * time.Millisecond, true, nil
}

// Confirm puts the channel in confirm mode.
func (ch *Channel) Confirm(ctx context.Context) (<-chan transports.Confirmation, error) {
	if err := ch.check(ctx, "confirm.select"); err != nil {
		return nil, err
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.confirms == nil {
		ch.confirms = newOutbox[transports.Confirmation]()
	}
	return ch.confirms.out, nil
}

// Returns returns the channel unroutable mandatory messages arrive on
// outside confirm mode. Messages returned before the first call are not
// kept.
func (ch *Channel) Returns() <-chan transports.Return {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.returns == nil {
		ch.returns = newOutbox[transports.Return]()
		if ch.closing {
			ch.returns.close()
		}
	}
	return ch.returns.out
}

// outbox hands values to a receiver through a Go channel without ever
// blocking the sender: values queue in memory until the receiver takes
// them. One goroutine forwards; close stops it, drops what was not taken
// and closes the Go channel. The queue is bounded by what the sender does
// (unconfirmed publishes), as the SPI requires.
type outbox[T any] struct {
	out  chan T
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu     sync.Mutex
	items  []T
	head   int
	closed bool
	// sending is set while the forwarder holds a value it took from
	// items and has not handed over yet.
	sending bool
}

func newOutbox[T any]() *outbox[T] {
	o := &outbox[T]{out: make(chan T), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	go o.run()
	return o
}

// push queues v; after close it drops v. When nothing is queued or being
// forwarded and the receiver is waiting, v goes to it directly, which
// spares a switch to the forwarder and keeps the order.
func (o *outbox[T]) push(v T) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	if o.head == len(o.items) && !o.sending {
		select {
		case o.out <- v:
			o.mu.Unlock()
			return
		default:
		}
	}
	o.items = append(o.items, v)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox[T]) run() {
	defer close(o.done)
	defer close(o.out)
	var zero T
	for {
		o.mu.Lock()
		if o.head == len(o.items) {
			o.items, o.head = o.items[:0], 0
			o.mu.Unlock()
			select {
			case <-o.wake:
				continue
			case <-o.quit:
				return
			}
		}
		v := o.items[o.head]
		o.items[o.head] = zero
		o.head++
		o.sending = true
		o.mu.Unlock()
		select {
		case o.out <- v:
		case <-o.quit:
			return
		}
		o.mu.Lock()
		o.sending = false
		o.mu.Unlock()
	}
}

// close stops the forwarder and waits for it; idempotent.
func (o *outbox[T]) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		<-o.done
		return
	}
	o.closed = true
	o.mu.Unlock()
	close(o.quit)
	<-o.done
}

// blockState is an active block of publishing.
type blockState struct {
	reason   string
	released chan struct{}
}

// waitUnblocked waits while the Broker is blocked.
func (b *Broker) waitUnblocked(ctx context.Context, ch *Channel) error {
	st := b.block.Load()
	if st == nil {
		return nil
	}
	select {
	case <-st.released:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("virtual: basic.publish: blocked by the broker (%s): %w", st.reason, ctx.Err())
	case <-ch.done:
		return ch.Err()
	}
}
