package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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

var (
	_ virtual.Backend  = (*store)(nil)
	_ virtual.Expirer  = (*store)(nil)
	_ virtual.Reserver = (*store)(nil)
)

func newStore() *store { return &store{queues: make(map[string]*mqueue)} }

// NewBackend returns a new, empty in-process store: the [virtual.Backend]
// under every [Broker], which also implements [virtual.Reserver] and
// [virtual.Expirer]. Use it to build a [virtual.Broker] directly, for
// example to test the virtual layer; [New] is the usual way in.
func NewBackend() virtual.Backend { return newStore() }

// mqueue is one queue.
type mqueue struct {
	mu      sync.Mutex
	levels  []ring // by priority
	ready   int
	bytes   int64
	waiters []*waiter // FIFO
	free    []*waiter // reusable waiters
	deleted bool
}

// waiter is a reservation: a Fetch waiting in the queue's line. Put fills
// env (or DeleteQueue sets err), sets handed and signals ch, all under the
// queue's lock. It implements [virtual.Reservation].
type waiter struct {
	q      *mqueue
	name   string
	ch     chan struct{}
	env    virtual.Envelope
	err    error
	handed bool
}

// maxFree bounds a queue's list of reusable waiters. The list is per queue
// rather than a sync.Pool so that a waiter's Go channel never crosses from
// one broker to another (nor from one testing/synctest bubble to another).
const maxFree = 16

// waiterLocked returns a reusable waiter.
func (q *mqueue) waiterLocked() *waiter {
	if n := len(q.free); n > 0 {
		w := q.free[n-1]
		q.free[n-1] = nil
		q.free = q.free[:n-1]
		return w
	}
	return &waiter{ch: make(chan struct{}, 1)}
}

// release resets a waiter and keeps it for reuse.
func (q *mqueue) release(w *waiter) {
	*w = waiter{ch: w.ch}
	q.mu.Lock()
	if len(q.free) < maxFree {
		q.free = append(q.free, w)
	}
	q.mu.Unlock()
}

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

// Fetch implements [virtual.Backend]. A waiting Fetch is a reservation
// claimed at once.
func (s *store) Fetch(ctx context.Context, name string, wait bool) (virtual.Claim, error) {
	q, err := s.queue(name)
	if err != nil {
		return virtual.Claim{}, err
	}
	if wait {
		w, err := q.reserve(name)
		if err != nil {
			return virtual.Claim{}, err
		}
		return w.Claim(ctx)
	}
	c := virtual.Claim{Queue: name}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.deleted:
		return c, fmt.Errorf("memory: queue %q: %w", name, virtual.ErrNoQueue)
	case q.ready == 0:
		return c, virtual.ErrEmpty
	}
	q.popLocked(&c.Envelope)
	return c, nil
}

// Reserve implements [virtual.Reserver].
func (s *store) Reserve(name string) (virtual.Reservation, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	return q.reserve(name)
}

// reserve takes a place in the line of waiters, or the next message when
// the queue has one and nobody is waiting.
func (q *mqueue) reserve(name string) (*waiter, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return nil, fmt.Errorf("memory: queue %q: %w", name, virtual.ErrNoQueue)
	}
	w := q.waiterLocked()
	w.q, w.name = q, name
	if q.ready > 0 {
		q.popLocked(&w.env)
		w.handed = true
		w.ch <- struct{}{}
		return w, nil
	}
	q.waiters = append(q.waiters, w)
	return w, nil
}

// Claim implements [virtual.Reservation].
func (w *waiter) Claim(ctx context.Context) (virtual.Claim, error) {
	q, c := w.q, virtual.Claim{Queue: w.name}
	select {
	case <-w.ch:
	case <-ctx.Done():
		w.Cancel()
		return c, fmt.Errorf("memory: fetch from %q: %w", c.Queue, ctx.Err())
	}
	err := w.err
	if err == nil {
		c.Envelope = w.env
	}
	q.release(w)
	if err != nil {
		return c, fmt.Errorf("memory: queue %q: %w", c.Queue, err)
	}
	return c, nil
}

// Cancel implements [virtual.Reservation]: the place is given up, and a
// message handed to it meanwhile goes back to the head of the queue.
func (w *waiter) Cancel() {
	q := w.q
	q.mu.Lock()
	if !w.handed {
		if i := slices.Index(q.waiters, w); i >= 0 {
			q.waiters = slices.Delete(q.waiters, i, i+1)
		}
		q.mu.Unlock()
		q.release(w)
		return
	}
	q.mu.Unlock()
	<-w.ch
	if w.err == nil {
		_ = q.add(w.name, &w.env, true)
	}
	q.release(w)
}

// popLocked moves the next message into env; the queue must not be empty.
func (q *mqueue) popLocked(env *virtual.Envelope) {
	q.headLocked().popFront(env)
	q.ready--
	q.bytes -= int64(len(env.Body))
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

// Expire implements [virtual.Expirer].
func (s *store) Expire(_ context.Context, name string, now time.Time) ([]virtual.Envelope, time.Time, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var expired []virtual.Envelope
	for q.ready > 0 {
		r := q.headLocked()
		exp := r.buf[r.head].Expires
		if exp.IsZero() || now.Before(exp) {
			return expired, exp, nil
		}
		var e virtual.Envelope
		q.popLocked(&e)
		expired = append(expired, e)
	}
	return expired, time.Time{}, nil
}

// headLocked returns the ring holding the next message; the queue must not
// be empty.
func (q *mqueue) headLocked() *ring {
	for i := len(q.levels) - 1; i >= 0; i-- {
		if q.levels[i].n > 0 {
			return &q.levels[i]
		}
	}
	panic("memory: headLocked on an empty queue")
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
