package transporttest

import (
	"sync"
)

// collector drains a Go channel a driver hands out (confirmations, returns,
// deliveries) from a goroutine of its own, as the SPI asks receivers to do
// promptly, and lets the test goroutine wait for what arrived. The goroutine
// ends when the driver closes the channel, which it must do when the Channel
// or Conn closes.
type collector[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{} // closed and replaced on every change
	closed  bool
}

// collect starts draining src.
func collect[T any](src <-chan T) *collector[T] {
	c := &collector[T]{changed: make(chan struct{})}
	go func() {
		for v := range src {
			c.mu.Lock()
			c.items = append(c.items, v)
			c.signal()
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.closed = true
		c.signal()
		c.mu.Unlock()
	}()
	return c
}

// signal wakes the waiters; the caller holds mu.
func (c *collector[T]) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// state returns a copy of what arrived so far, whether src is closed, and a
// channel closed on the next change.
func (c *collector[T]) state() (items []T, closed bool, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.items...), c.closed, c.changed
}

// wait waits until cond holds for what arrived (and whether src is closed)
// or ctxDone closes; it returns the items and whether cond held.
func (c *collector[T]) wait(ctxDone <-chan struct{}, cond func(items []T, closed bool) bool) ([]T, bool) {
	for {
		items, closed, changed := c.state()
		if cond(items, closed) {
			return items, true
		}
		if closed {
			return items, false
		}
		select {
		case <-changed:
		case <-ctxDone:
			return items, false
		}
	}
}

// waitItems waits until at least n items arrived and returns them all.
func waitItems[T any](h *harness, c *collector[T], n int, what string) []T {
	h.t.Helper()
	items, ok := c.wait(h.ctx.Done(), func(items []T, _ bool) bool { return len(items) >= n })
	if !ok {
		h.t.Fatalf("%s: %d arrived (source closed or %v passed), want %d", what, len(items), h.f.Timeout, n)
	}
	return items
}

// waitClosed waits until the driver closed the source and returns
// everything that arrived.
func waitClosed[T any](h *harness, c *collector[T], what string) []T {
	h.t.Helper()
	items, ok := c.wait(h.ctx.Done(), func(_ []T, closed bool) bool { return closed })
	if !ok {
		h.t.Fatalf("%s: not closed within %v", what, h.f.Timeout)
	}
	return items
}
