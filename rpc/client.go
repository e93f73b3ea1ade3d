package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// ClientConfig holds the settings of a [Client]. The zero value works.
type ClientConfig struct {
	// ReplyQueue names the client's reply queue. Empty means
	// "kelp.rpc.reply." followed by a random UUID. The queue is
	// non-durable, exclusive and auto-delete; [Client.Close] deletes it.
	ReplyQueue string

	// Accept is the accept list replies are decoded with (serializer
	// names or content types). Nil means the connection's Config.Accept.
	Accept []string
}

// Client makes calls: it publishes requests with a reply-to address and a
// fresh correlation id, and hands each reply to the call waiting for it.
//
// A Client owns one consumer, on its own reply queue, and one goroutine
// that dispatches replies by correlation id; both end with
// [Client.Close]. A Client is safe for concurrent use: any number of
// calls may be in flight at once.
type Client struct {
	c     *conn.Connection
	prod  *conn.Producer
	queue string
	cons  *conn.Consumer
	done  chan struct{} // closed when dispatch returns

	mu      sync.Mutex
	pending map[string]chan conn.Delivery
	closed  bool
	err     error // why the client stopped taking calls
}

// NewClient declares the client's reply queue on c, starts consuming it
// (no-ack) and returns the client. ctx bounds the setup only.
func NewClient(ctx context.Context, c *conn.Connection, cfg ClientConfig) (*Client, error) {
	name := cfg.ReplyQueue
	if name == "" {
		name = "kelp.rpc.reply." + newID()
	}
	q := route.Queue{Name: name, Exclusive: true, AutoDelete: true}
	opts := []conn.ConsumeOption{conn.WithNoAck()}
	if cfg.Accept != nil {
		opts = append(opts, conn.WithAccept(cfg.Accept...))
	}
	cons, err := c.Consume(ctx, []route.Queue{q}, opts...)
	if err != nil {
		return nil, fmt.Errorf("rpc: consume reply queue %q: %w", name, err)
	}
	cl := &Client{
		c:       c,
		prod:    c.Producer(),
		queue:   name,
		cons:    cons,
		done:    make(chan struct{}),
		pending: make(map[string]chan conn.Delivery),
	}
	go cl.dispatch()
	return cl, nil
}

// ReplyQueue returns the name of the client's reply queue, which its
// requests carry as their reply-to property.
func (cl *Client) ReplyQueue() string { return cl.queue }

// dispatch hands each reply to the call waiting for its correlation id and
// drops the others (late replies of calls that gave up, strays).
func (cl *Client) dispatch() {
	defer close(cl.done)
	for d := range cl.cons.C() {
		cl.mu.Lock()
		ch, ok := cl.pending[d.CorrelationID]
		if ok {
			delete(cl.pending, d.CorrelationID)
		}
		cl.mu.Unlock()
		if ok {
			ch <- d // buffered: one reply per call
		}
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.closed = true
	if cl.err == nil {
		cl.err = ErrClosed
		if err := cl.cons.Err(); err != nil {
			cl.err = fmt.Errorf("%w: reply consumer failed: %w", ErrClosed, err)
		}
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
// (also matching ctx's error) when ctx ends first, a [*RemoteError] when
// the server's handler failed, a decode error ([conn.ErrDecode],
// [conn.ErrContentDisallowed]), or [ErrClosed].
func (cl *Client) Call(ctx context.Context, target string, req, resp any, opts ...conn.PublishOption) error {
	id := newID()
	ch := make(chan conn.Delivery, 1)
	cl.mu.Lock()
	if cl.closed {
		err := cl.err
		cl.mu.Unlock()
		return err
	}
	cl.pending[id] = ch
	cl.mu.Unlock()
	defer func() {
		cl.mu.Lock()
		delete(cl.pending, id)
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
	if err := cl.prod.Publish(ctx, req, popts...); err != nil {
		if ctx.Err() != nil { // the request may have gone out all the same
			return noReply(ctx, fmt.Sprintf("from %q (publish: %v)", target, err))
		}
		return fmt.Errorf("rpc: call %q: %w", target, err)
	}

	select {
	case d := <-ch:
		return decodeReply(&d, resp)
	case <-ctx.Done():
		return noReply(ctx, fmt.Sprintf("from %q", target))
	case <-cl.done:
		select {
		case d := <-ch: // the reply came just before the end
			return decodeReply(&d, resp)
		default:
		}
		cl.mu.Lock()
		defer cl.mu.Unlock()
		return cl.err
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
// reply consumer stops, and the reply queue is deleted, bounded by ctx.
// Close is idempotent.
func (cl *Client) Close(ctx context.Context) error {
	cl.mu.Lock()
	first := cl.err == nil
	if first {
		cl.err = ErrClosed
	}
	cl.mu.Unlock()
	cl.cons.Stop()
	<-cl.done
	if !first {
		return nil
	}
	if _, err := cl.c.QueueDelete(ctx, cl.queue, conn.QueueDeleteOptions{}); err != nil &&
		!errors.Is(err, conn.ErrClosed) {
		return fmt.Errorf("rpc: delete reply queue %q: %w", cl.queue, err)
	}
	return nil
}
