package mux

import "sync"

// A Mux fans the items of many source channels into one output channel,
// [Mux.C], serving the sources that have items in turn. Create one with
// [New]; the zero Mux is not usable. All methods are safe for concurrent
// use.
type Mux[T any] struct {
	out       chan T
	done      chan struct{} // closed right after out
	stopped   chan struct{} // closed when the first Stop call returns
	wake      chan struct{} // one-slot doorbell of a parked dispatcher
	onAbandon func(T)
	wg        sync.WaitGroup // the dispatcher and the waiters

	mu       sync.Mutex
	sources  map[*source[T]]struct{} // sources not yet ended
	turns    fifo[*source[T]]        // the queued sources, in turn order
	running  bool                    // a dispatcher goroutine runs
	closing  bool                    // Close or Stop was called: Add refuses
	stopping bool                    // Stop was called: Stop, not the last source, closes out
	closed   bool                    // out and done are closed
}

// New returns a Mux whose output channel [Mux.C] holds up to buffer items
// (0 makes it unbuffered). It panics if buffer is negative, as make does.
func New[T any](buffer int, opts ...Option[T]) *Mux[T] {
	if buffer < 0 {
		panic("mux: negative buffer")
	}
	m := &Mux[T]{
		out:     make(chan T, buffer),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		sources: make(map[*source[T]]struct{}),
	}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(m)
		}
	}
	return m
}

// Add starts serving src: its items go to [Mux.C], in their order, until
// src is closed, remove is called, or [Mux.Stop] is called. The mux only
// receives from src; src stays the caller's, and so do the items still in
// it when serving ends. A nil src is served like a channel that never
// yields and never closes, until it is removed.
//
// remove stops serving src and returns once the mux no longer receives
// from it: an item it had taken and not yet delivered is passed to the
// [OnAbandon] function (items already in C stay there). remove may be
// called any number of times, from any goroutine, also after src was
// closed or the mux stopped.
//
// Add returns [ErrClosed], and serves nothing, once [Mux.Close] or
// [Mux.Stop] has been called.
func (m *Mux[T]) Add(src <-chan T) (remove func(), err error) {
	s := &source[T]{src: src, quit: make(chan struct{}), ended: make(chan struct{})}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return nil, ErrClosed
	}
	m.sources[s] = struct{}{}
	m.enqueue(s)
	if !m.running {
		m.running = true
		m.wg.Add(1)
		go m.dispatch()
	}
	return func() {
		m.mu.Lock()
		m.signal(s)
		m.mu.Unlock()
		<-s.ended
		m.claim(s)
	}, nil
}

// C returns the output channel. It is closed after [Mux.Close] once every
// source has ended, or by [Mux.Stop]. Receiving from it is the same as
// [Mux.Next] without a context.
func (m *Mux[T]) C() <-chan T { return m.out }

// Done returns a channel that is closed when [Mux.C] has been closed.
// Items may still be buffered in C after a [Mux.Close]; never after a
// [Mux.Stop].
func (m *Mux[T]) Done() <-chan struct{} { return m.done }

// Len returns the number of sources being served: added, and neither
// closed, removed, nor stopped.
func (m *Mux[T]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sources)
}

// Close stops accepting sources and returns at once. The sources being
// served keep flowing: [Mux.C] is closed once each of them is closed or
// removed, after every item taken from them has been delivered to C.
// Close may be called more than once, and before or after [Mux.Stop].
func (m *Mux[T]) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return
	}
	m.closing = true
	if len(m.sources) == 0 {
		m.finish()
	}
}

// Stop stops accepting sources, stops serving every source at once (never
// waiting for a source to close or a receiver to come), and closes
// [Mux.C]. Every item the mux took and did not deliver, whether in hand or
// still buffered in C, is passed to the [OnAbandon] function; an item
// buffered in C goes to exactly one of a concurrent receiver and
// OnAbandon. Stop returns when C is closed and empty and every goroutine
// of the mux has returned. It may be called more than once, and after
// [Mux.Close] to give up waiting for the sources.
func (m *Mux[T]) Stop() {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		<-m.stopped
		return
	}
	m.stopping, m.closing = true, true
	live := make([]*source[T], 0, len(m.sources))
	for s := range m.sources {
		m.signal(s)
		live = append(live, s)
	}
	m.mu.Unlock()

	for _, s := range live {
		<-s.ended
		m.claim(s)
	}
	m.wg.Wait()
	// No goroutine of the mux runs and none can start: nothing sends on
	// out any more, so a non-blocking drain empties it.
	for drained := false; !drained; {
		select {
		case v, ok := <-m.out:
			if ok {
				m.abandon(v)
			} else {
				drained = true
			}
		default:
			drained = true
		}
	}
	m.mu.Lock()
	if !m.closed {
		m.finish()
	}
	m.mu.Unlock()
	close(m.stopped)
}

// claim passes the item the ended source s was holding, if any and not yet
// claimed, to the OnAbandon function.
func (m *Mux[T]) claim(s *source[T]) {
	m.mu.Lock()
	v, ok := s.take()
	m.mu.Unlock()
	if ok {
		m.abandon(v)
	}
}

// abandon hands v to the OnAbandon function, if there is one.
func (m *Mux[T]) abandon(v T) {
	if m.onAbandon != nil {
		m.onAbandon(v)
	}
}

// finish closes the output. m.mu must be held.
func (m *Mux[T]) finish() {
	m.closed = true
	close(m.out)
	close(m.done)
}
