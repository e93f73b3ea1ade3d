package amqp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// conn is the transports.Conn of one amqp091 connection. It owns the socket
// (raw), one goroutine that watches the connection's close and blocked
// notifications, and every goroutine of its channels (wg).
type conn struct {
	ac  *amqp091.Connection
	raw net.Conn // the TCP socket under TLS and AMQP: closing it aborts everything
	log *slog.Logger

	done    chan struct{}
	blocked chan transports.Blocking // capacity 1: the latest state

	mu       sync.Mutex
	err      error // why done closed
	closing  bool  // Close was called
	channels map[*channel]struct{}
	wg       sync.WaitGroup // every goroutine of the conn and its channels
}

var (
	_ transports.Conn          = (*conn)(nil)
	_ transports.BlockNotifier = (*conn)(nil)
)

func newConn(ac *amqp091.Connection, raw net.Conn, opts transports.ConnectOptions) *conn {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &conn{
		ac:       ac,
		raw:      raw,
		log:      log,
		done:     make(chan struct{}),
		blocked:  make(chan transports.Blocking, 1),
		channels: make(map[*channel]struct{}),
	}
	// Both listeners are buffered and drained by watch, which never blocks
	// on anything else, so amqp091's reader never waits on them.
	closes := ac.NotifyClose(make(chan *amqp091.Error, 1))
	blocks := ac.NotifyBlocked(make(chan amqp091.Blocking, 8))
	c.wg.Add(1)
	go c.watch(closes, blocks)
	return c
}

// watch records the connection's death and relays flow-control changes,
// keeping only the latest one when nobody reads. It ends when amqp091 closes
// both listeners, which it does once the connection is shut down.
func (c *conn) watch(closes <-chan *amqp091.Error, blocks <-chan amqp091.Blocking) {
	defer c.wg.Done()
	defer close(c.blocked)
	for closes != nil || blocks != nil {
		select {
		case e, ok := <-closes:
			if !ok {
				closes = nil
				e = nil
			}
			c.die(c.lostError(e))
		case b, ok := <-blocks:
			if !ok {
				blocks = nil
				continue
			}
			latest(c.blocked, transports.Blocking{Active: b.Active, Reason: b.Reason})
		}
	}
}

// latest puts v in ch (capacity 1), replacing an unread value. Only one
// goroutine sends on ch, so the second send cannot block.
func latest[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
		select {
		case <-ch:
		default:
		}
		ch <- v
	}
}

// lostError is the Err of a connection that amqp091 shut down with e (nil
// for a clean close): ErrClosed after Close, else ErrConnLost with the cause.
func (c *conn) lostError(e *amqp091.Error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil:
		return c.err
	case c.closing:
		return transports.ErrClosed
	case e == nil:
		return fmt.Errorf("%w: connection closed", transports.ErrConnLost)
	}
	err := brokerError(e)
	if !errors.Is(err, transports.ErrConnLost) {
		err = fmt.Errorf("%w: %w", transports.ErrConnLost, err)
	}
	return err
}

// die records why the connection ended, once.
func (c *conn) die(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// Done is closed when the connection has died or was closed.
func (c *conn) Done() <-chan struct{} { return c.done }

// Err is nil while the connection lives, then why it ended.
func (c *conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Blocked returns the Go channel RabbitMQ's connection.blocked and
// connection.unblocked notifications arrive on, latest value only.
func (c *conn) Blocked() <-chan transports.Blocking { return c.blocked }

// Channel opens a channel. amqp091's Channel takes no ctx and can wait
// forever on a dead network, so it runs in a goroutine of the conn; when ctx
// ends first, the channel it opens later is closed at once.
func (c *conn) Channel(ctx context.Context) (transports.Channel, error) {
	if err := c.Err(); err != nil {
		return nil, fmt.Errorf("amqp: open channel: %w", err)
	}
	ach, err := await(c, ctx, c.ac.Channel, func(ach *amqp091.Channel) { _ = ach.Close() })
	if err != nil {
		if isClosedErr(err) && c.ac.IsClosed() {
			// The connection is shutting down; watch records why.
			select {
			case <-c.done:
				err = c.Err()
			case <-ctx.Done():
				err = fmt.Errorf("%w: %w", transports.ErrConnLost, err)
			}
		} else if ctx.Err() == nil {
			err = brokerError(err)
		}
		return nil, fmt.Errorf("amqp: open channel: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		// Close is tearing the connection down, ach with it.
		return nil, fmt.Errorf("amqp: open channel: %w", transports.ErrClosed)
	}
	ch := newChannel(c, ach)
	c.channels[ch] = struct{}{}
	return ch, nil
}

// errConnClosing is await's error when Close has begun.
var errConnClosing = fmt.Errorf("amqp: %w", transports.ErrClosed)

// await runs f in a goroutine of c and returns its result, or ctx's error
// when ctx ends first. In that case cleanup receives f's result when f
// returns without error, so nothing f opened stays open.
func await[T any](c *conn, ctx context.Context, f func() (T, error), cleanup func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if !c.goroutine() {
		return zero, errConnClosing
	}
	type result struct {
		v   T
		err error
	}
	res := make(chan result, 1)
	var claimed atomic.Bool // set by whoever takes the result: caller or goroutine
	go func() {
		defer c.wg.Done()
		v, err := f()
		if !claimed.CompareAndSwap(false, true) {
			if err == nil {
				cleanup(v)
			}
			return
		}
		res <- result{v, err}
	}()
	select {
	case r := <-res:
		return r.v, r.err
	case <-ctx.Done():
		if claimed.CompareAndSwap(false, true) {
			return zero, ctx.Err()
		}
		r := <-res
		return r.v, r.err
	}
}

// goroutine counts a new goroutine of c in wg, unless Close has begun (its
// Wait may be running, and Add must not race with it).
func (c *conn) goroutine() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.wg.Add(1)
	return true
}

// isClosing reports whether Close was called.
func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// forget removes a closed channel from the conn's set.
func (c *conn) forget(ch *channel) {
	c.mu.Lock()
	delete(c.channels, ch) // a no-op once Close has taken the set
	c.mu.Unlock()
}

// Close closes the connection and its channels. The AMQP close handshake
// is bounded by ctx; when ctx ends first the socket is closed abruptly and
// Close returns ctx's error. Either way Close returns only after every
// goroutine of the connection has ended.
func (c *conn) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	chans := make([]*channel, 0, len(c.channels))
	for ch := range c.channels {
		chans = append(chans, ch)
	}
	c.channels = nil
	c.mu.Unlock()

	// Publishes and settles still queued for the channels' workers go out
	// before connection.close.
	for _, ch := range chans {
		ch.flush(ctx)
	}
	var err error
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = c.ac.Close() // ErrClosed when already dead: nothing to report
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		c.raw.Close()
		<-closed
		err = fmt.Errorf("amqp: close: %w", ctx.Err())
	}
	c.raw.Close()
	for _, ch := range chans {
		ch.release(transports.ErrClosed)
	}
	c.wg.Wait()
	return err
}
