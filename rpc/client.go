package rpc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// DirectReplyTo is RabbitMQ's direct reply-to address: a pseudo-queue a
// client consumes (no-ack) on the channel it publishes its requests on.
const DirectReplyTo = "amq.rabbitmq.reply-to"

// rabbitSchemes are the URL schemes of kelp's RabbitMQ driver, on whose
// connections a Client uses [DirectReplyTo].
var rabbitSchemes = []string{"amqp", "amqps", "pyamqp", "librabbitmq"}

// ClientConfig holds the settings of a [Client]. The zero value works.
type ClientConfig struct {
	// ReplyQueue names the client's reply queue, and setting it turns
	// direct reply-to off. Empty means direct reply-to on RabbitMQ, and
	// elsewhere "kelp.rpc.reply." followed by a random UUID. The queue is
	// non-durable, exclusive and auto-delete; [Client.Close] deletes it.
	ReplyQueue string

	// NoDirectReplyTo makes the client use a reply queue of its own on
	// RabbitMQ too.
	NoDirectReplyTo bool

	// Accept is the accept list replies are decoded with (serializer
	// names or content types). Nil means the connection's Config.Accept.
	Accept []string
}

// Client makes calls: it publishes requests with a reply-to address and a
// fresh correlation id, and hands each reply to the call waiting for it.
//
// A Client owns one reply subscription at a time (on RabbitMQ, direct
// reply-to on a pinned channel; elsewhere its reply queue) and one
// goroutine that dispatches its replies by correlation id; they end with
// [Client.Close]. A Client is safe for concurrent use: any number of
// calls may be in flight at once.
type Client struct {
	c      *conn.Connection
	queue  string // the reply-to address
	direct bool
	accept []conn.ConsumeOption

	lineMu sync.Mutex // serializes replacing a lost direct line
	mu     sync.Mutex
	line   *line // the live reply subscription
	pend   map[string]chan conn.Delivery
	err    error // why the client stopped taking calls; set by Close or a failed reply queue
}

// line is one reply subscription and the way requests expecting its
// replies are published.
type line struct {
	pin     *conn.Pinned   // direct reply-to; nil with a reply queue
	cons    *conn.Consumer // reply queue; nil with direct reply-to
	publish func(ctx context.Context, body any, opts ...conn.PublishOption) error
	done    chan struct{} // closed when its dispatcher returned
}

// lost returns why the line's dispatcher stopped.
func (l *line) lost() error {
	if l.pin != nil {
		return l.pin.Err()
	}
	return l.cons.Err()
}

// dead reports whether the line can no longer carry replies.
func (l *line) dead() bool {
	return isClosed(l.done) || l.pin != nil && l.pin.Err() != nil
}

// stop ends the line's subscription and waits for its dispatcher.
func (l *line) stop() {
	if l.pin != nil {
		l.pin.Close()
	} else {
		l.cons.Stop()
	}
	<-l.done
}

// NewClient starts the client's reply subscription on c and returns the
// client; ctx bounds the setup only. On RabbitMQ (an amqp:// or amqps://
// connection) the client consumes [DirectReplyTo] on a pinned channel
// ([conn.Connection.Pin]) and declares no queue, unless cfg names a reply
// queue or sets NoDirectReplyTo. Elsewhere it declares its reply queue
// and consumes it (no-ack).
func NewClient(ctx context.Context, c *conn.Connection, cfg ClientConfig) (*Client, error) {
	cl := &Client{c: c, pend: make(map[string]chan conn.Delivery)}
	if cfg.Accept != nil {
		cl.accept = []conn.ConsumeOption{conn.WithAccept(cfg.Accept...)}
	}
	if cfg.ReplyQueue == "" && !cfg.NoDirectReplyTo {
		pin, err := c.Pin(ctx)
		if err != nil {
			return nil, fmt.Errorf("rpc: open a channel for replies: %w", err)
		}
		if slices.Contains(rabbitSchemes, pin.Scheme()) {
			cl.direct, cl.queue = true, DirectReplyTo
			if cl.line, err = cl.directLine(ctx, pin); err != nil {
				return nil, err
			}
			return cl, nil
		}
		pin.Close()
	}
	cl.queue = cfg.ReplyQueue
	if cl.queue == "" {
		cl.queue = "kelp.rpc.reply." + newID()
	}
	q := route.Queue{Name: cl.queue, Exclusive: true, AutoDelete: true}
	cons, err := c.Consume(ctx, []route.Queue{q}, append([]conn.ConsumeOption{conn.WithNoAck()}, cl.accept...)...)
	if err != nil {
		return nil, fmt.Errorf("rpc: consume reply queue %q: %w", cl.queue, err)
	}
	cl.line = &line{cons: cons, publish: c.Producer().Publish, done: make(chan struct{})}
	go cl.dispatch(cl.line, cons.C())
	return cl, nil
}

// directLine subscribes pin to [DirectReplyTo] and starts its dispatcher.
// On failure it closes pin.
func (cl *Client) directLine(ctx context.Context, pin *conn.Pinned) (*line, error) {
	replies, err := pin.Consume(ctx, DirectReplyTo, append([]conn.ConsumeOption{conn.WithNoAck()}, cl.accept...)...)
	if err != nil {
		pin.Close()
		return nil, fmt.Errorf("rpc: consume %s: %w", DirectReplyTo, err)
	}
	l := &line{pin: pin, publish: pin.Publish, done: make(chan struct{})}
	go cl.dispatch(l, replies)
	return l, nil
}

// ReplyQueue returns the client's reply-to address: [DirectReplyTo], or
// the name of its reply queue.
func (cl *Client) ReplyQueue() string { return cl.queue }

// dispatch hands each reply of l to the call waiting for its correlation
// id and drops the others (late replies of calls that gave up, strays).
// It returns when l's subscription ends: closed, or lost with its channel.
func (cl *Client) dispatch(l *line, replies <-chan conn.Delivery) {
	defer close(l.done)
	for d := range replies {
		cl.mu.Lock()
		ch, ok := cl.pend[d.CorrelationID]
		if ok {
			delete(cl.pend, d.CorrelationID)
		}
		cl.mu.Unlock()
		if ok {
			ch <- d // buffered: one reply per call
		}
	}
	if cl.direct {
		return // a lost line is replaced by the next call
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.err == nil {
		cl.err = ErrClosed
		if err := l.cons.Err(); err != nil {
			cl.err = fmt.Errorf("%w: reply consumer failed: %w", ErrClosed, err)
		}
	}
}

// liveLine returns the line to publish on: with direct reply-to a new one
// when the last was lost (bounded by ctx, which waits for a reconnect).
func (cl *Client) liveLine(ctx context.Context) (*line, error) {
	cl.mu.Lock()
	l, err := cl.line, cl.err
	cl.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !cl.direct || !l.dead() {
		return l, nil
	}
	cl.lineMu.Lock()
	defer cl.lineMu.Unlock()
	cl.mu.Lock()
	l, err = cl.line, cl.err
	cl.mu.Unlock()
	if err != nil || !l.dead() {
		return l, err // closed meanwhile, or replaced by another call
	}
	l.stop() // its dispatcher is ending: wait for it
	pin, err := cl.c.Pin(ctx)
	if err != nil {
		return nil, fmt.Errorf("rpc: open a channel for replies: %w", err)
	}
	nl, err := cl.directLine(ctx, pin)
	if err != nil {
		return nil, err
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.err != nil { // Close ran meanwhile
		nl.pin.Close()
		<-nl.done
		return nil, cl.err
	}
	cl.line = nl
	return nl, nil
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Call publishes req to target (the routing key: on the default exchange,
// the server's queue name) and waits, bounded by ctx, for the reply, which
// it decodes into resp (a pointer, or nil to discard the reply).
//
// opts are publish options for the request (exchange, serializer,
// compression, headers, priority, ...); the client sets the routing key
// to target before them, and the reply-to and correlation id after them.
// When ctx has a deadline, the request expires then (its expiration
// property), so a broker that honours it drops requests nobody waits for;
// pass [conn.WithExpiration] to choose otherwise.
//
// Errors: the publish's error ([conn.ErrNacked], ...), [ErrNoReply]
// (also matching ctx's error) when ctx ends first, [ErrReplyLost] when
// the connection was lost while the call waited on direct reply-to (call
// again), a [*RemoteError] when the server's handler failed, a decode
// error ([conn.ErrDecode], [conn.ErrContentDisallowed]), or [ErrClosed].
func (cl *Client) Call(ctx context.Context, target string, req, resp any, opts ...conn.PublishOption) error {
	l, err := cl.liveLine(ctx)
	if err != nil {
		return err
	}
	id := newID()
	ch := make(chan conn.Delivery, 1)
	cl.mu.Lock()
	if cl.err != nil {
		err := cl.err
		cl.mu.Unlock()
		return err
	}
	cl.pend[id] = ch
	cl.mu.Unlock()
	defer func() {
		cl.mu.Lock()
		delete(cl.pend, id)
		cl.mu.Unlock()
	}()

	popts := make([]conn.PublishOption, 0, len(opts)+4)
	popts = append(popts, conn.WithRoutingKey(target))
	if dl, ok := ctx.Deadline(); ok {
		if ttl := time.Until(dl); ttl >= time.Millisecond {
			popts = append(popts, conn.WithExpiration(ttl))
		}
	}
	popts = append(popts, opts...)
	popts = append(popts, conn.WithReplyTo(cl.queue), conn.WithCorrelationID(id))
	if err := l.publish(ctx, req, popts...); err != nil {
		if ctx.Err() != nil { // the request may have gone out all the same
			return noReply(ctx, fmt.Sprintf("from %q (publish: %v)", target, err))
		}
		cl.mu.Lock()
		cerr := cl.err
		cl.mu.Unlock()
		if cerr != nil { // Close closed the line under the publish
			return cerr
		}
		if cl.direct && (l.pin.Err() != nil || errors.Is(err, conn.ErrConfirmLost) ||
			errors.Is(err, conn.ErrChannelClosed) || errors.Is(err, conn.ErrConnectionLost)) {
			return fmt.Errorf("%w: call %q: %w", ErrReplyLost, target, err)
		}
		return fmt.Errorf("rpc: call %q: %w", target, err)
	}

	select {
	case d := <-ch:
		return decodeReply(&d, resp)
	case <-ctx.Done():
		return noReply(ctx, fmt.Sprintf("from %q", target))
	case <-l.done:
		select {
		case d := <-ch: // the reply came just before the end
			return decodeReply(&d, resp)
		default:
		}
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if cl.err != nil {
			return cl.err
		}
		return fmt.Errorf("%w: call %q: %w", ErrReplyLost, target, l.lost())
	}
}

// decodeReply turns a reply into the call's result.
func decodeReply(d *conn.Delivery, resp any) error {
	if msg, ok := d.Headers[HeaderError]; ok {
		return &RemoteError{Message: fmt.Sprint(msg)}
	}
	if resp == nil {
		return nil
	}
	if err := d.Decode(resp); err != nil {
		return fmt.Errorf("rpc: decode reply: %w", err)
	}
	return nil
}

// Close stops the client: calls in flight fail with [ErrClosed], the
// reply subscription and its goroutine stop, and the reply queue, if the
// client has one, is deleted, bounded by ctx. Close is idempotent.
func (cl *Client) Close(ctx context.Context) error {
	cl.lineMu.Lock() // no line is being replaced
	cl.mu.Lock()
	if cl.err == nil {
		cl.err = ErrClosed
	}
	l := cl.line
	cl.line = nil
	cl.mu.Unlock()
	cl.lineMu.Unlock()
	if l == nil {
		return nil
	}
	l.stop()
	if cl.direct {
		return nil
	}
	if _, err := cl.c.QueueDelete(ctx, cl.queue, conn.QueueDeleteOptions{}); err != nil &&
		!errors.Is(err, conn.ErrClosed) {
		return fmt.Errorf("rpc: delete reply queue %q: %w", cl.queue, err)
	}
	return nil
}
