package simple

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// Queue is Kombu's SimpleQueue (or, built by [NewBuffer], SimpleBuffer):
// one named queue used like a Go queue, with [Queue.Put], a blocking
// [Queue.Get], a polling [Queue.TryGet], [Queue.Len], [Queue.Clear] and
// [Queue.Close]. It is safe for concurrent use. It does not own its
// [conn.Connection]: closing the Queue leaves the connection open.
type Queue struct {
	c     *conn.Connection
	queue route.Queue
	prod  *conn.Producer
	opts  options

	mu     sync.Mutex
	cons   *conn.Consumer // started by the first Get
	closed bool
}

// QueueFor returns the queue [NewQueue] uses for name, with Kombu's
// SimpleQueue defaults: a durable queue called name, bound with routing
// key name to a durable direct exchange also called name.
func QueueFor(name string) route.Queue {
	return route.NewQueue(name, route.Bind(route.NewExchange(name, route.Direct), name))
}

// BufferFor returns the queue [NewBuffer] uses for name, with Kombu's
// SimpleBuffer defaults: a non-durable, auto-delete, exclusive queue
// called name, bound with routing key name to a non-durable, auto-delete
// direct exchange also called name whose messages are transient.
func BufferFor(name string) route.Queue {
	ex := route.Exchange{Name: name, Kind: route.Direct, AutoDelete: true, DeliveryMode: route.Transient}
	q := route.Queue{Name: name, Exclusive: true, AutoDelete: true}
	q.Bindings = []route.Binding{route.Bind(ex, name)}
	return q
}

// NewQueue declares [QueueFor](name) on c and returns it as a Queue
// (Kombu's Connection.SimpleQueue with a name). Messages must be settled
// unless [WithNoAck] is given.
func NewQueue(ctx context.Context, c *conn.Connection, name string, opts ...Option) (*Queue, error) {
	return newQueue(ctx, c, QueueFor(name), false, opts)
}

// NewBuffer declares [BufferFor](name) on c and returns it as a no-ack
// Queue (Kombu's SimpleBuffer): fast, transient, and gone with the
// connection.
func NewBuffer(ctx context.Context, c *conn.Connection, name string, opts ...Option) (*Queue, error) {
	return newQueue(ctx, c, BufferFor(name), true, opts)
}

// New declares q on c and returns it as a Queue (Kombu's SimpleQueue
// given a Queue). q must have a name. [Queue.Put] publishes through q's
// first binding (its exchange and routing key), or to the default
// exchange with q's name when q has no binding.
func New(ctx context.Context, c *conn.Connection, q route.Queue, opts ...Option) (*Queue, error) {
	return newQueue(ctx, c, q, false, opts)
}

func newQueue(ctx context.Context, c *conn.Connection, q route.Queue, noAck bool, opts []Option) (*Queue, error) {
	if c == nil {
		return nil, invalid("nil connection")
	}
	if q.Name == "" {
		return nil, invalid("the queue needs a name")
	}
	o, err := newOptions(noAck, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Declare(ctx, q); err != nil {
		return nil, fmt.Errorf("simple: declare %q: %w", q.Name, err)
	}
	pub := []conn.PublishOption{conn.WithRoutingKey(q.Name)}
	if len(q.Bindings) > 0 {
		b := q.Bindings[0]
		pub = []conn.PublishOption{conn.WithExchange(b.Exchange.Name), conn.WithRoutingKey(b.RoutingKey)}
		if m := b.Exchange.DeliveryMode; m != 0 {
			pub = append(pub, conn.WithDeliveryMode(m))
		}
	}
	if o.serializer != "" {
		pub = append(pub, conn.WithSerializer(o.serializer))
	}
	if o.compression != "" {
		pub = append(pub, conn.WithCompression(o.compression))
	}
	return &Queue{c: c, queue: q, prod: c.Producer(pub...), opts: o}, nil
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.queue.Name }

// Queue returns the declaration of the queue (a copy).
func (q *Queue) Queue() route.Queue { return q.queue.Clone() }

// Put publishes v to the queue (Kombu's put), serialized with the
// queue's serializer and compression. opts override the queue's
// defaults, as for [conn.Producer.Publish], whose errors Put returns.
func (q *Queue) Put(ctx context.Context, v any, opts ...conn.PublishOption) error {
	if q.isClosed() {
		return ErrClosed
	}
	return q.prod.Publish(ctx, v, opts...)
}

// Get returns the next message, waiting until one arrives or ctx ends
// (Kombu's get with block=True). The first Get starts a consumer, which
// [Queue.Close] stops. When ctx's deadline passes first, the error
// matches [ErrEmpty] and [context.DeadlineExceeded]; when ctx is
// cancelled, it matches [context.Canceled]. The delivery must be settled
// unless the queue is no-ack.
func (q *Queue) Get(ctx context.Context) (conn.Delivery, error) {
	cons, err := q.consumer(ctx)
	if err != nil {
		return conn.Delivery{}, err
	}
	d, err := cons.Next(ctx)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return conn.Delivery{}, fmt.Errorf("%w: %w", ErrEmpty, err)
	case ctx.Err() != nil:
		return conn.Delivery{}, err
	}
	// The consumer ended: closed by Close, or failed (the queue was
	// deleted). Forget it so that the next Get starts afresh.
	q.mu.Lock()
	if q.cons == cons {
		q.cons = nil
	}
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return conn.Delivery{}, ErrClosed
	}
	return conn.Delivery{}, fmt.Errorf("simple: get %q: %w", q.queue.Name, err)
}

// TryGet returns a message if one is ready, without waiting (Kombu's
// get_nowait, a basic.get); it fails with [ErrEmpty] otherwise. Once
// [Queue.Get] has started its consumer, the broker may be sending it
// messages (up to the prefetch, or any number when no-ack): TryGet returns
// those that already arrived first, but cannot see those on their way.
func (q *Queue) TryGet(ctx context.Context) (conn.Delivery, error) {
	q.mu.Lock()
	cons, closed := q.cons, q.closed
	q.mu.Unlock()
	if closed {
		return conn.Delivery{}, ErrClosed
	}
	if cons != nil {
		select {
		case d, ok := <-cons.C():
			if ok {
				return d, nil
			}
		default:
		}
	}
	d, err := q.c.Get(ctx, q.queue.Name, q.opts.consumeOptions()...)
	if errors.Is(err, conn.ErrEmpty) {
		return conn.Delivery{}, fmt.Errorf("%w: %w", ErrEmpty, err)
	}
	return d, err
}

// Len returns the number of messages ready in the queue (Kombu's qsize),
// not counting those a consumer holds unsettled. A queue that does not
// exist holds none: Len returns 0 for it, on every transport.
func (q *Queue) Len(ctx context.Context) (int, error) {
	if q.isClosed() {
		return 0, ErrClosed
	}
	info, err := q.c.DeclareQueue(ctx, route.Queue{Name: q.queue.Name, Passive: true})
	switch {
	case errors.Is(err, conn.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("simple: len %q: %w", q.queue.Name, err)
	case info.Messages < 0:
		return 0, fmt.Errorf("simple: len %q: the transport does not report it: %w", q.queue.Name, errors.ErrUnsupported)
	}
	return info.Messages, nil
}

// Clear removes every ready message from the queue and returns how many
// it removed (Kombu's clear). A queue that does not exist clears 0.
func (q *Queue) Clear(ctx context.Context) (int, error) {
	if q.isClosed() {
		return 0, ErrClosed
	}
	n, err := q.c.QueuePurge(ctx, q.queue.Name)
	if errors.Is(err, conn.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("simple: clear %q: %w", q.queue.Name, err)
	}
	return n, nil
}

// Close stops the consumer started by [Queue.Get] (Kombu's close): the
// messages it received and nobody settled go back to the queue, and
// settling them later fails with [conn.ErrStaleDelivery]. Later calls
// fail with [ErrClosed]. The queue itself, and the connection, stay.
// Close is idempotent and always returns nil.
func (q *Queue) Close() error {
	q.mu.Lock()
	cons := q.cons
	q.cons, q.closed = nil, true
	q.mu.Unlock()
	if cons != nil {
		cons.Stop()
	}
	return nil
}

// consumer returns the running consumer, starting it if needed.
func (q *Queue) consumer(ctx context.Context) (*conn.Consumer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClosed
	}
	if q.cons != nil {
		return q.cons, nil
	}
	cons, err := q.c.Consume(ctx, []route.Queue{q.queue}, q.opts.consumeOptions()...)
	if err != nil {
		return nil, fmt.Errorf("simple: consume %q: %w", q.queue.Name, err)
	}
	q.cons = cons
	return cons, nil
}

func (q *Queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}
