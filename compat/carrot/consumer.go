package carrot

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// DefaultPollInterval is how long [Consumer.IterQueue] waits between
// polls of an empty queue when asked to go on forever (Kombu's
// polling_interval).
const DefaultPollInterval = time.Second

// ConsumerConfig holds carrot's Consumer arguments. Its zero value is
// carrot's defaults, except that Queue must be set.
type ConsumerConfig struct {
	// Queue is the queue to consume; required.
	Queue string
	// Exchange is the exchange the queue is bound to; "" binds nothing
	// (the default exchange reaches the queue by its name).
	Exchange string
	// RoutingKey is the binding key.
	RoutingKey string
	// ExchangeType is carrot's exchange_type. Empty means direct.
	ExchangeType route.Kind
	// NonDurable declares the queue and exchange non-durable (carrot's
	// durable=False).
	NonDurable bool
	// Exclusive declares the queue exclusive (and so auto-delete).
	Exclusive bool
	// AutoDelete declares the queue and exchange auto-delete.
	AutoDelete bool
	// NoAck consumes without acknowledgements.
	NoAck bool
	// NoDeclare skips declaring (carrot's auto_declare=False).
	NoDeclare bool
	// QueueArguments are the queue's x-arguments.
	QueueArguments route.Table
	// Accept is the accept list; nil means the connection's.
	Accept []string
	// Prefetch bounds the unsettled messages of [Consumer.Wait] and
	// [Consumer.IterConsume]. Zero means [conn.DefaultPrefetch].
	Prefetch int
	// PollInterval is [Consumer.IterQueue]'s wait between polls of an
	// empty queue. Zero means [DefaultPollInterval].
	PollInterval time.Duration
}

// Callback is a carrot consumer callback: the decoded body and the
// message, which the callback settles (unless no-ack).
type Callback func(ctx context.Context, data any, m *Message)

// Consumer is carrot's Consumer: one queue, fetched with basic.get
// ([Consumer.Fetch], [Consumer.IterQueue]) or consumed
// ([Consumer.Wait], [Consumer.IterConsume]) with registered callbacks. It
// is safe for concurrent use; [Consumer.Close] ends its consumer.
type Consumer struct {
	c     *conn.Connection
	queue route.Queue
	opts  []conn.ConsumeOption
	poll  time.Duration

	mu        sync.Mutex
	callbacks []Callback
	cons      *conn.Consumer // started by the first Wait or IterConsume
	closed    bool
}

// NewConsumer declares cfg's queue (and exchange and binding) on c,
// unless NoDeclare, and returns a Consumer for it.
func NewConsumer(ctx context.Context, c *conn.Connection, cfg ConsumerConfig) (*Consumer, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrInvalidConfig)
	}
	if cfg.Queue == "" {
		return nil, fmt.Errorf("%w: the queue needs a name", ErrInvalidConfig)
	}
	if cfg.Prefetch < 0 || cfg.PollInterval < 0 {
		return nil, fmt.Errorf("%w: negative prefetch or poll interval", ErrInvalidConfig)
	}
	q := route.Queue{Name: cfg.Queue, Durable: !cfg.NonDurable, Exclusive: cfg.Exclusive,
		AutoDelete: cfg.AutoDelete, NoDeclare: cfg.NoDeclare, Arguments: cfg.QueueArguments.Clone()}
	if cfg.Exchange != "" {
		ex := exchangeOf(cfg.Exchange, cfg.ExchangeType, cfg.NonDurable, cfg.AutoDelete, cfg.NoDeclare)
		q.Bindings = []route.Binding{route.Bind(ex, cfg.RoutingKey)}
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if q.ShouldDeclare() {
		if err := c.Declare(ctx, q); err != nil {
			return nil, fmt.Errorf("carrot: declare queue %q: %w", q.Name, err)
		}
	}
	var opts []conn.ConsumeOption
	if cfg.NoAck {
		opts = append(opts, conn.WithNoAck())
	}
	if cfg.Accept != nil {
		opts = append(opts, conn.WithAccept(cfg.Accept...))
	}
	if cfg.Prefetch > 0 {
		opts = append(opts, conn.WithPrefetch(cfg.Prefetch))
	}
	poll := cfg.PollInterval
	if poll == 0 {
		poll = DefaultPollInterval
	}
	return &Consumer{c: c, queue: q, opts: opts, poll: poll}, nil
}

// Queue returns the consumer's queue declaration.
func (c *Consumer) Queue() route.Queue { return c.queue.Clone() }

// RegisterCallback adds a callback that [Consumer.Wait],
// [Consumer.IterConsume] and [Consumer.Receive] call for each message,
// in registration order.
func (c *Consumer) RegisterCallback(cb Callback) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.callbacks = append(c.callbacks, cb)
}

// Fetch returns one message with basic.get (carrot's fetch), or
// [ErrEmpty]. It does not run the callbacks: pass the message to
// [Consumer.Receive] for that.
//
// Once [Consumer.Wait] or [Consumer.IterConsume] started the consumer,
// the broker may be sending it messages (up to the prefetch): Fetch
// returns those that already arrived first, but cannot see those on
// their way.
func (c *Consumer) Fetch(ctx context.Context) (*Message, error) {
	c.mu.Lock()
	cons, closed := c.cons, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if cons != nil {
		select {
		case d, ok := <-cons.C():
			if ok {
				return &Message{Delivery: d}, nil
			}
		default:
		}
	}
	d, err := c.c.Get(ctx, c.queue.Name, c.opts...)
	if errors.Is(err, conn.ErrEmpty) {
		return nil, ErrEmpty
	}
	if err != nil {
		return nil, fmt.Errorf("carrot: fetch %q: %w", c.queue.Name, err)
	}
	return &Message{Delivery: d}, nil
}

// Receive decodes m and calls every callback with it (carrot's receive).
// A body that does not decode is not passed on: Receive returns the
// error (matching [conn.ErrDecode] or [conn.ErrContentDisallowed]) and
// leaves m unsettled.
func (c *Consumer) Receive(ctx context.Context, m *Message) error {
	data, err := m.Payload()
	if err != nil {
		return fmt.Errorf("carrot: decode message from %q: %w", c.queue.Name, err)
	}
	c.mu.Lock()
	cbs := c.callbacks
	c.mu.Unlock()
	for _, cb := range cbs {
		cb(ctx, data, m)
	}
	return nil
}

// Wait consumes the queue and calls the callbacks for each message,
// until limit messages were handled (limit ≤ 0: until ctx ends); carrot's
// wait. It returns nil after limit messages, ctx's error when ctx ended,
// [ErrNoCallbacks] when none are registered. A message that does not
// decode is rejected (dead-lettered, never requeued) and Wait returns
// the error.
func (c *Consumer) Wait(ctx context.Context, limit int) error {
	c.mu.Lock()
	n := len(c.callbacks)
	c.mu.Unlock()
	if n == 0 {
		return ErrNoCallbacks
	}
	for m, err := range c.IterConsume(ctx, limit) {
		if err != nil {
			if m != nil {
				_ = m.Reject(ctx)
			}
			return err
		}
	}
	return nil
}

// IterConsume consumes the queue and yields each message after the
// callbacks ran on it, until limit messages (limit ≤ 0: no limit), the
// consumer closes or ctx ends (yielding ctx's error last); carrot's
// iterconsume. A message that does not decode is yielded with the error,
// unsettled, and without callbacks.
func (c *Consumer) IterConsume(ctx context.Context, limit int) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		cons, err := c.consumer(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		for i := 0; limit <= 0 || i < limit; i++ {
			d, err := cons.Next(ctx)
			if errors.Is(err, conn.ErrClosed) && ctx.Err() == nil {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			m := &Message{Delivery: d}
			if !yield(m, c.Receive(ctx, m)) {
				return
			}
		}
	}
}

// IterQueue polls the queue with [Consumer.Fetch] and yields each message
// (without callbacks), until limit messages (limit ≤ 0: no limit); carrot's
// iterqueue. When the queue is empty it stops, or with infinite it polls
// again every PollInterval until ctx ends (yielding ctx's error last).
func (c *Consumer) IterQueue(ctx context.Context, limit int, infinite bool) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		var timer *time.Timer
		for i := 0; limit <= 0 || i < limit; {
			m, err := c.Fetch(ctx)
			switch {
			case errors.Is(err, ErrEmpty) && infinite:
				if timer == nil {
					timer = time.NewTimer(c.poll)
					defer timer.Stop()
				} else {
					timer.Reset(c.poll)
				}
				select {
				case <-timer.C:
					continue
				case <-ctx.Done():
					yield(nil, context.Cause(ctx))
					return
				}
			case errors.Is(err, ErrEmpty):
				return
			case err != nil:
				yield(nil, err)
				return
			}
			i++
			if !yield(m, nil) {
				return
			}
		}
	}
}

// DiscardAll removes every ready message from the queue and returns how
// many (carrot's discard_all; Kombu's compat purges too).
func (c *Consumer) DiscardAll(ctx context.Context) (int, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	n, err := c.c.QueuePurge(ctx, c.queue.Name)
	if err != nil {
		return 0, fmt.Errorf("carrot: discard %q: %w", c.queue.Name, err)
	}
	return n, nil
}

// Close cancels the consumer (unsettled messages go back to the queue)
// and makes later calls fail with [ErrClosed]. It is idempotent and
// returns nil; the connection stays open.
func (c *Consumer) Close() error {
	c.mu.Lock()
	cons := c.cons
	c.cons, c.closed = nil, true
	c.mu.Unlock()
	if cons != nil {
		cons.Stop()
	}
	return nil
}

// consumer returns the running consumer, starting it if needed.
func (c *Consumer) consumer(ctx context.Context) (*conn.Consumer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.cons == nil {
		q := c.queue
		if !q.ShouldDeclare() {
			q = conn.QueueNames(q.Name)[0]
		}
		cons, err := c.c.Consume(ctx, []route.Queue{q}, c.opts...)
		if err != nil {
			return nil, fmt.Errorf("carrot: consume %q: %w", c.queue.Name, err)
		}
		c.cons = cons
	}
	return c.cons, nil
}

func (c *Consumer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
