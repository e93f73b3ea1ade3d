package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/transports/virtual"
)

// store is the in-process [virtual.Backend]: one mqueue per queue, each with
// its own lock, so queues never contend with each other. Messages are kept
// by value in ring buffers (one per priority), so storing a message
// allocates nothing once the rings have grown. A blocked Fetch waits in a
// FIFO list of waiters, and Put hands a message straight to the first one.
type store struct {
	mu     sync.RWMutex
	queues map[string]*mqueue
}

var _ virtual.Backend = (*store)(nil)

func newStore() *store { return &store{queues: make(map[string]*mqueue)} }

// mqueue is one queue.
type mqueue struct {
	mu      sync.Mutex
	levels  []ring // by priority
	ready   int
	bytes   int64
	waiters []*waiter // FIFO
	deleted bool
}

// waiter is a Fetch blocked on an empty queue. Put fills env (or Delete
// sets err), sets handed and signals ch, all under the queue's lock.
type waiter struct {
	ch     chan struct{}
	env    virtual.Envelope
	err    error
	handed bool
}

var waiters = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}

func (s *store) queue(name string) (*mqueue, error) {
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	if q == nil {
		return nil, fmt.Errorf("memory: queue %q: %w", name, virtual.ErrNoQueue)
	}
	return q, nil
}

// CreateQueue implements [virtual.Backend].
func (s *store) CreateQueue(_ context.Context, name string, opts virtual.QueueOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues[name] == nil {
		s.queues[name] = &mqueue{levels: make([]ring, int(opts.MaxPriority)+1)}
	}
	return nil
}

// DeleteQueue implements [virtual.Backend].
func (s *store) DeleteQueue(_ context.Context, name string) (int, error) {
	s.mu.Lock()
	q := s.queues[name]
	delete(s.queues, name)
	s.mu.Unlock()
	if q == nil {
		return 0, fmt.Errorf("memory: queue %q: %w", name, virtual.ErrNoQueue)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleted = true
	n := q.clearLocked()
	for _, w := range q.waiters {
		w.err = virtual.ErrNoQueue
		w.handed = true
		w.ch <- struct{}{}
	}
	q.waiters = nil
	return n, nil
}

// Put implements [virtual.Backend].
func (s *store) Put(_ context.Context, name string, env *virtual.Envelope) error {
	q, err := s.queue(name)
	if err != nil {
		return err
	}
	return q.add(name, env, false)
}

// Requeue implements [virtual.Backend].
func (s *store) Requeue(_ context.Context, c *virtual.Claim) error {
	q, err := s.queue(c.Queue)
	if err != nil {
		return err
	}
	return q.add(c.Queue, &c.Envelope, true)
}

// add stores env at the tail (or with front, the head) of its priority, or
// hands it to the longest-waiting Fetch.
func (q *mqueue) add(name string, env *virtual.Envelope, front bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return fmt.Errorf("memory: queue %q: %w", name, virtual.ErrNoQueue)
	}
	if len(q.waiters) > 0 {
		w := q.waiters[0]
		copy(q.waiters, q.waiters[1:])
		q.waiters[len(q.waiters)-1] = nil
		q.waiters = q.waiters[:len(q.waiters)-1]
		w.env = *env
		w.handed = true
		w.ch <- struct{}{}
		return nil
	}
	r := &q.levels[min(int(env.Priority), len(q.levels)-1)]
	if front {
		r.pushFront(env)
	} else {
		r.pushBack(env)
	}
	q.ready++
	q.bytes += int64(len(env.Body))
	return nil
}

// Fetch implements [virtual.Backend].
func (s *store) Fetch(ctx context.Context, name string, wait bool) (virtual.Claim, error) {
	q, err := s.queue(name)
	if err != nil {
		return virtual.Claim{}, err
	}
	c := virtual.Claim{Queue: name}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return c, fmt.Errorf("memory: queue %q: %w", name, virtual.ErrNoQueue)
	}
	if q.ready > 0 {
		q.popLocked(&c.Envelope)
		q.mu.Unlock()
		return c, nil
	}
	if !wait {
		q.mu.Unlock()
		return c, virtual.ErrEmpty
	}
	w := waiters.Get().(*waiter)
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()

	select {
	case <-w.ch:
	case <-ctx.Done():
		q.mu.Lock()
		if !w.handed {
			for i, x := range q.waiters {
				if x == w {
					q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
					break
				}
			}
			q.mu.Unlock()
			waiters.Put(w)
			return c, fmt.Errorf("memory: fetch from %q: %w", name, ctx.Err())
		}
		q.mu.Unlock()
		<-w.ch
		if w.err == nil {
			// A message arrived as ctx ended: put it back where it was.
			_ = q.add(name, &w.env, true)
		}
		release(w)
		return c, fmt.Errorf("memory: fetch from %q: %w", name, ctx.Err())
	}
	if err := w.err; err != nil {
		release(w)
		return c, fmt.Errorf("memory: queue %q: %w", name, err)
	}
	c.Envelope = w.env
	release(w)
	return c, nil
}

// release resets a waiter and returns it to the pool.
func release(w *waiter) {
	*w = waiter{ch: w.ch}
	waiters.Put(w)
}

// popLocked moves the next message into env.
func (q *mqueue) popLocked(env *virtual.Envelope) {
	for i := len(q.levels) - 1; i >= 0; i-- {
		if q.levels[i].n > 0 {
			q.levels[i].popFront(env)
			q.ready--
			q.bytes -= int64(len(env.Body))
			return
		}
	}
}

// clearLocked drops every ready message and returns how many there were.
func (q *mqueue) clearLocked() int {
	n := q.ready
	for i := range q.levels {
		q.levels[i].reset()
	}
	q.ready, q.bytes = 0, 0
	return n
}

// Ack implements [virtual.Backend]: a claimed message is no longer in the
// store, so there is nothing to do.
func (s *store) Ack(context.Context, *virtual.Claim) error { return nil }

// Purge implements [virtual.Backend].
func (s *store) Purge(_ context.Context, name string) (int, error) {
	q, err := s.queue(name)
	if err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.clearLocked(), nil
}

// Len implements [virtual.Backend].
func (s *store) Len(_ context.Context, name string) (virtual.QueueLen, error) {
	q, err := s.queue(name)
	if err != nil {
		return virtual.QueueLen{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return virtual.QueueLen{Messages: q.ready, Bytes: q.bytes}, nil
}

// ring is a double-ended queue of envelopes kept by value.
type ring struct {
	buf  []virtual.Envelope
	head int
	n    int
}

func (r *ring) grow() {
	if r.n < len(r.buf) {
		return
	}
	nb := make([]virtual.Envelope, max(8, 2*len(r.buf)))
	for i := range r.n {
		nb[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf, r.head = nb, 0
}

func (r *ring) pushBack(e *virtual.Envelope) {
	r.grow()
	r.buf[(r.head+r.n)%len(r.buf)] = *e
	r.n++
}

func (r *ring) pushFront(e *virtual.Envelope) {
	r.grow()
	r.head = (r.head - 1 + len(r.buf)) % len(r.buf)
	r.buf[r.head] = *e
	r.n++
}

func (r *ring) popFront(e *virtual.Envelope) {
	*e = r.buf[r.head]
	r.buf[r.head] = virtual.Envelope{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
}

func (r *ring) reset() {
	clear(r.buf)
	r.head, r.n = 0, 0
}
