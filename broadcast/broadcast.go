package broadcast

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// DefaultQueuePrefix is the name, before ".<uuid>", of the queue a
// subscriber gets when no [WithQueue] names one (Kombu's "bcast").
const DefaultQueuePrefix = "bcast"

// deleteTimeout bounds deleting a subscriber's queue in
// [Subscription.Close] when the caller's ctx has already ended.
const deleteTimeout = 5 * time.Second

// ErrInvalidOption reports an [Option] or argument with an invalid value.
// It also matches [conn.ErrInvalidOption].
var ErrInvalidOption = fmt.Errorf("broadcast: %w", conn.ErrInvalidOption)

// Option is a setting of [New] and [Queue]. Options validate their
// values: the call fails with an error matching [ErrInvalidOption].
type Option func(*options) error

type options struct {
	queue  string
	unique bool
}

// WithQueue names the subscribers' queue instead of "bcast.<uuid>".
// Without [WithUnique], every subscriber of the name shares that one
// queue, so they take turns instead of each getting every message
// (Kombu's Broadcast(queue=...)).
func WithQueue(name string) Option {
	return func(o *options) error {
		if name == "" {
			return fmt.Errorf("%w: empty queue name", ErrInvalidOption)
		}
		o.queue = name
		return nil
	}
}

// WithUnique appends ".<uuid>" to the [WithQueue] name, so that each
// subscriber has a queue of its own again (Kombu's unique=True).
func WithUnique() Option {
	return func(o *options) error { o.unique = true; return nil }
}

func newOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

// queueName is the name of a new subscriber's queue.
func (o options) queueName() string {
	switch {
	case o.queue == "":
		return DefaultQueuePrefix + "." + uuid4()
	case o.unique:
		return o.queue + "." + uuid4()
	}
	return o.queue
}

// Exchange returns the exchange of a broadcast called name, as Kombu
// declares it: a durable fanout exchange.
func Exchange(name string) route.Exchange {
	return route.NewExchange(name, route.Fanout)
}

// Queue returns the declaration of a subscriber's queue for the broadcast
// exchange called exchange (Kombu's kombu.common.Broadcast): a durable,
// auto-delete queue named "bcast.<uuid>" (or as [WithQueue] and
// [WithUnique] say) bound to [Exchange](exchange). Each call without
// [WithQueue] returns a new name.
func Queue(exchange string, opts ...Option) (route.Queue, error) {
	if exchange == "" {
		return route.Queue{}, fmt.Errorf("%w: empty exchange name", ErrInvalidOption)
	}
	o, err := newOptions(opts)
	if err != nil {
		return route.Queue{}, err
	}
	return o.declaration(exchange), nil
}

// queue builds the declaration of a new subscriber's queue.
func (o options) declaration(exchange string) route.Queue {
	q := route.NewQueue(o.queueName(), route.Bind(Exchange(exchange), ""))
	q.AutoDelete = true
	return q
}

// Broadcast publishes to every subscriber of a fanout exchange, and
// subscribes to it with a queue of its own per subscriber. It is safe
// for concurrent use and does not own its [conn.Connection].
type Broadcast struct {
	c    *conn.Connection
	name string
	opts options
	prod *conn.Producer
}

// New returns the broadcast called name on c. Nothing is declared until
// the first [Broadcast.Publish] or [Broadcast.Subscribe].
func New(c *conn.Connection, name string, opts ...Option) (*Broadcast, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrInvalidOption)
	}
	if name == "" {
		return nil, fmt.Errorf("%w: empty exchange name", ErrInvalidOption)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	prod := c.Producer(conn.WithExchange(name), conn.WithDeclare(Exchange(name)))
	return &Broadcast{c: c, name: name, opts: o, prod: prod}, nil
}

// Name returns the name of the broadcast's exchange.
func (b *Broadcast) Name() string { return b.name }

// Publish sends body to every current subscriber, declaring the exchange
// first if this connection has not yet. opts are those of
// [conn.Producer.Publish], whose errors Publish returns. Subscribers that
// subscribe later do not get the message, and with no subscriber it is
// dropped.
func (b *Broadcast) Publish(ctx context.Context, body any, opts ...conn.PublishOption) error {
	return b.prod.Publish(ctx, body, opts...)
}

// Subscribe declares a new subscriber queue bound to the exchange and
// consumes from it, with opts as for [conn.Connection.Consume], whose
// errors it returns. The subscription receives every message published
// from now on.
func (b *Broadcast) Subscribe(ctx context.Context, opts ...conn.ConsumeOption) (*Subscription, error) {
	q := b.opts.declaration(b.name)
	cons, err := b.c.Consume(ctx, []route.Queue{q}, opts...)
	if err != nil {
		return nil, fmt.Errorf("broadcast: subscribe to %q: %w", b.name, err)
	}
	return &Subscription{Consumer: cons, c: b.c, queue: q.Name, own: b.opts.queue == "" || b.opts.unique}, nil
}

// Subscription is one subscriber of a [Broadcast]: a [conn.Consumer] of
// its own queue. Read it as any consumer ([conn.Consumer.C],
// [conn.Consumer.Next], ...) and end it with [Subscription.Close].
type Subscription struct {
	*conn.Consumer
	c     *conn.Connection
	queue string
	own   bool // the queue is this subscriber's alone
}

// Queue returns the name of the subscription's queue.
func (s *Subscription) Queue() string { return s.queue }

// Close stops the consumer as [conn.Consumer.Stop] does and, when the
// queue is the subscriber's own, deletes it so that the connection stops
// declaring it after reconnects (a shared [WithQueue] queue is left to
// the broker's auto-delete). It is bounded by ctx and idempotent.
func (s *Subscription) Close(ctx context.Context) error {
	s.Stop()
	if !s.own {
		return nil
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
	}
	_, err := s.c.QueueDelete(ctx, s.queue, conn.QueueDeleteOptions{})
	if err != nil && !errors.Is(err, conn.ErrClosed) {
		return fmt.Errorf("broadcast: delete queue %q: %w", s.queue, err)
	}
	return nil
}

// uuid4 returns a random RFC 9562 version 4 UUID in its text form, as
// Kombu's uuid() does.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
