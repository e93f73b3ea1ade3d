package virtual

import (
	"context"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/transports"
)

// Conn is a connection to a [Broker]. It implements [transports.Conn] and
// [transports.BlockNotifier]. It is safe for concurrent use.
type Conn struct {
	b    *Broker
	name string

	mu       sync.Mutex
	channels map[*Channel]struct{}
	closing  bool
	err      error
	done     chan struct{}

	blockMu     sync.Mutex
	blocked     chan transports.Blocking // one slot: the latest state
	blockClosed bool
}

var (
	_ transports.Conn          = (*Conn)(nil)
	_ transports.BlockNotifier = (*Conn)(nil)
)

func newConn(b *Broker, opts transports.ConnectOptions) *Conn {
	return &Conn{
		b:        b,
		name:     opts.Name,
		channels: make(map[*Channel]struct{}),
		done:     make(chan struct{}),
		blocked:  make(chan transports.Blocking, 1),
	}
}

// Name returns the name given in [transports.ConnectOptions].
func (c *Conn) Name() string { return c.name }

// Channel opens a channel. It fails with an error wrapping
// [transports.ErrConnLost] once the connection is dead.
func (c *Conn) Channel(ctx context.Context) (transports.Channel, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("virtual: channel.open: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil, c.deadErr()
	}
	ch := newChannel(c)
	c.channels[ch] = struct{}{}
	return ch, nil
}

// deadErr is the error of calls on a dead connection: it wraps
// [transports.ErrConnLost] and the reason the connection died.
func (c *Conn) deadErr() error {
	if c.err == nil || c.err == transports.ErrClosed {
		return fmt.Errorf("virtual: %w: %w", transports.ErrConnLost, transports.ErrClosed)
	}
	return c.err
}

// Done is closed when the connection has died or was closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is alive, then why it ended:
// [transports.ErrClosed] after Close, or an error wrapping
// [transports.ErrConnLost].
func (c *Conn) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection and its channels, returning their unsettled
// deliveries to their queues, and deletes the exclusive queues it owns.
func (c *Conn) Close(ctx context.Context) error {
	c.shutdown(ctx, transports.ErrClosed)
	return nil
}

// Blocked returns the Go channel flow-control changes arrive on (see
// [Broker.Block]). It keeps only the latest state, and is closed when the
// connection has ended.
func (c *Conn) Blocked() <-chan transports.Blocking { return c.blocked }

// notifyBlocked replaces any unread state with b.
func (c *Conn) notifyBlocked(b transports.Blocking) {
	c.blockMu.Lock()
	defer c.blockMu.Unlock()
	if c.blockClosed {
		return
	}
	select {
	case <-c.blocked:
	default:
	}
	c.blocked <- b
}

// drop kills the connection as a network failure would.
func (c *Conn) drop(cause error) {
	c.shutdown(context.Background(), fmt.Errorf("virtual: %w: %w", transports.ErrConnLost, cause))
}

// shutdown ends the connection with err: its channels close (requeueing
// their unsettled deliveries), its exclusive queues are deleted, Done
// closes. Concurrent and repeated calls wait for the first to finish.
func (c *Conn) shutdown(ctx context.Context, err error) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.closing = true
	c.err = err
	chans := make([]*Channel, 0, len(c.channels))
	for ch := range c.channels {
		chans = append(chans, ch)
	}
	c.mu.Unlock()

	for _, ch := range chans {
		ch.shutdown(ctx, err)
	}
	b := c.b
	b.mu.Lock()
	var ds []deletion
	for _, q := range b.queues {
		if q.owner == c {
			ds = append(ds, b.unlinkQueueLocked(q)...)
		}
	}
	b.mu.Unlock()
	for _, d := range ds {
		b.finishQueueDelete(ctx, d)
	}
	b.removeConn(c)
	c.blockMu.Lock()
	c.blockClosed = true
	close(c.blocked)
	c.blockMu.Unlock()
	close(c.done)
}

// removeChannel forgets a closed channel.
func (c *Conn) removeChannel(ch *Channel) {
	c.mu.Lock()
	delete(c.channels, ch)
	c.mu.Unlock()
}
