package pidbox

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// collector gathers the replies of one call. The dispatcher appends and
// never blocks; the caller waits on notify.
type collector struct {
	mu      sync.Mutex
	replies []Reply
	notify  chan struct{} // capacity 1: "there is something new"
}

func (c *collector) add(rs []Reply) {
	c.mu.Lock()
	c.replies = append(c.replies, rs...)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// wait returns once limit replies (if limit > 0) arrived, ctx ended
// (ctx's error) or the mailbox closed ([ErrClosed]), with the replies so
// far, at most limit.
func (c *collector) wait(ctx context.Context, limit int, closed <-chan struct{}) ([]Reply, error) {
	snapshot := func() ([]Reply, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		rs := c.replies
		if limit > 0 && len(rs) >= limit {
			return rs[:limit:limit], true
		}
		return rs, false
	}
	for {
		select {
		case <-c.notify:
			if rs, full := snapshot(); full {
				return rs, nil
			}
		case <-ctx.Done():
			rs, _ := snapshot()
			return rs, ctx.Err()
		case <-closed:
			rs, _ := snapshot()
			return rs, ErrClosed
		}
	}
}

// register makes ticket's collector, starting the reply consumer first if
// it is not running.
// A consumer that ended by itself (a permanent error) is replaced.
func (m *Mailbox) register(ctx context.Context, ticket string) (*collector, <-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, ErrClosed
	}
	if m.replies != nil && isDone(m.done) {
		m.log.Warn("pidbox: reply consumer ended; starting another", "error", m.replies.Err())
		m.replies = nil
	}
	if m.replies == nil {
		cons, err := m.c.Consume(ctx, []route.Queue{m.ReplyQueue()}, conn.WithNoAck(), conn.WithAccept(m.cfg.Accept...))
		if err != nil {
			return nil, nil, fmt.Errorf("pidbox: consume replies: %w", err)
		}
		m.replies = cons
		m.done = make(chan struct{})
		go m.dispatch(cons, m.done)
	}
	col := &collector{notify: make(chan struct{}, 1)}
	m.tickets[ticket] = col
	return col, m.done, nil
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (m *Mailbox) unregister(ticket string) {
	m.mu.Lock()
	delete(m.tickets, ticket)
	m.mu.Unlock()
}

// dispatch hands each reply to the call holding its ticket. Replies to
// calls that ended are dropped (Kombu keeps them as "unclaimed"; nothing
// in kelp would ever claim them).
func (m *Mailbox) dispatch(cons *conn.Consumer, done chan struct{}) {
	defer close(done)
	for d := range cons.C() {
		if f, ok := number(d.Headers[HeaderClock]); ok && f > 0 {
			m.clock.Adjust(uint64(f))
		}
		ticket, _ := d.Headers[HeaderTicket].(string)
		m.mu.Lock()
		col := m.tickets[ticket]
		m.mu.Unlock()
		if col == nil {
			continue
		}
		var body map[string]any
		if err := d.Decode(&body); err != nil {
			m.log.Warn("pidbox: undecodable reply dropped", "ticket", ticket, "error", err)
			continue
		}
		col.add(parseReplies(body))
	}
}

// Close stops the reply consumer, fails the calls waiting for replies
// with [ErrClosed], and deletes the reply queue, bounded by ctx. Nodes
// made by [Mailbox.Node] are not stopped: stop their listeners. Close is
// idempotent.
func (m *Mailbox) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	cons, done := m.replies, m.done
	m.mu.Unlock()
	if cons == nil {
		return nil
	}
	cons.Stop()
	<-done
	name := m.ReplyQueue().Name
	if _, err := m.c.QueueDelete(ctx, name, conn.QueueDeleteOptions{}); err != nil && !errors.Is(err, conn.ErrClosed) {
		return fmt.Errorf("pidbox: delete reply queue %q: %w", name, err)
	}
	return nil
}
