package mux

// How items move
//
// One dispatcher goroutine per Mux, running while the mux has sources,
// serves the sources in turns: it pops the source at the head of m.turns,
// takes one item from it with a non-blocking receive, sends the item, and
// queues the source again at the tail. So every source that has an item
// ready when its turn comes gets one item per round, in FIFO order, and a
// busy source never needs a goroutine of its own to be scheduled to be
// served: fairness among busy sources does not depend on the Go
// scheduler.
//
// A source found empty on its turn is handed to a waiter goroutine that
// blocks receiving from it. When an item arrives and no source is queued
// for a turn, the waiter sends it to out itself if there is room (nobody
// is waiting, so this overtakes no one), and waits again; an idle source
// thus costs one goroutine hop, like a goroutine per source. If sources
// are queued, or out is full, or the source turns out busy (its next item
// is ready at once), the waiter queues the source, item in hand, and
// returns: from then on the dispatcher serves it in turns.
//
// Each source is in one state, changed only under m.mu by its owner:
//
//	queued:  in m.turns, owned by nobody, maybe holding one item
//	running: owned by the dispatcher, which polls it or sends its item
//	waiting: owned by its waiter goroutine, which receives from src
//	ended:   served no more; ended is closed
//
// remove and Stop close quit; a queued source ends at once, an owned one
// is ended by its owner, which watches quit wherever it blocks. Only the
// owner of a source receives from its src, so once it has ended nothing
// does. An item taken and not delivered when a source ends stays in held
// until remove or Stop claims it for the OnAbandon function. Every source
// holds at most one item: in held, or in its owner's hand.
//
// Several goroutines may send on out, but the blocking sends all come from
// the dispatcher; a non-blocking send succeeds only when out has room or a
// receiver waiting, which is never the case while a sender is blocked, so
// it cannot overtake a source already waiting to send.

// state is where a source is; see above.
type state uint8

const (
	queued state = iota
	running
	waiting
	ended
)

// source is one channel being served.
type source[T any] struct {
	src   <-chan T
	quit  chan struct{} // closed (once, under Mux.mu) by remove, Stop, or end
	ended chan struct{} // closed when the source has ended

	// Guarded by Mux.mu.
	state   state
	held    T    // an item taken from src and not yet delivered
	holding bool // held is set
}

// take removes and returns the item s holds, if any. Mux.mu must be held.
func (s *source[T]) take() (v T, ok bool) {
	var zero T
	v, ok = s.held, s.holding
	s.held, s.holding = zero, false
	return v, ok
}

// hold records v as taken from s and not delivered. Mux.mu must be held.
func (s *source[T]) hold(v T) { s.held, s.holding = v, true }

// dispatch is the dispatcher goroutine. It returns when the mux has no
// sources left.
func (m *Mux[T]) dispatch() {
	defer m.wg.Done()
	var served *source[T] // the source whose item was just sent
	for {
		s, v, have := m.turn(served)
		if s == nil {
			return
		}
		served = nil
		if !have {
			if v, have = m.poll(s); !have {
				continue
			}
		}
		if m.send(s, v) {
			served = s
		}
	}
}

// turn queues served, if not nil, for its next turn, then takes the source
// whose turn it is, and the item it holds if any. It waits while no source
// is queued, and returns a nil source when the mux has none left.
func (m *Mux[T]) turn(served *source[T]) (s *source[T], v T, have bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if served != nil {
		m.requeue(served)
	}
	for {
		s, ok := m.turns.pop()
		if ok {
			s.state = running
			v, have = s.take()
			return s, v, have
		}
		if len(m.sources) == 0 {
			m.running = false
			return nil, v, false
		}
		m.mu.Unlock()
		<-m.wake
		m.mu.Lock()
	}
}

// poll takes an item from s, running, without blocking. If s has none
// ready, it is handed to a waiter goroutine; if it is closed, or told to
// quit, it ends.
func (m *Mux[T]) poll(s *source[T]) (v T, ok bool) {
	select {
	case v, ok = <-s.src:
		if ok && !isClosed(s.quit) {
			return v, true
		}
		m.mu.Lock()
		m.settle(s, v, ok)
		m.mu.Unlock()
	default:
		m.mu.Lock()
		m.await(s)
		m.mu.Unlock()
	}
	return v, false
}

// send delivers v, taken from s, to out, and reports whether it did. If s
// is told to quit first, it ends s holding v.
func (m *Mux[T]) send(s *source[T], v T) bool {
	// Try first without the two-way select, which costs more.
	select {
	case m.out <- v:
		return true
	default:
	}
	select {
	case m.out <- v:
		return true
	case <-s.quit:
		m.mu.Lock()
		m.settle(s, v, true)
		m.mu.Unlock()
		return false
	}
}

// wait is the waiter goroutine of s while s is waiting.
func (m *Mux[T]) wait(s *source[T]) {
	defer m.wg.Done()
	for {
		var (
			v  T
			ok bool
		)
		select {
		case v, ok = <-s.src:
		case <-s.quit:
		}
		m.mu.Lock()
		if !ok || isClosed(s.quit) || m.turns.len() > 0 || !trySend(m.out, v) {
			m.settle(s, v, ok)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		// Delivered. A source whose next item is ready at once is busy:
		// leave it to the dispatcher, which serves busy sources in turns.
		select {
		case v, ok = <-s.src:
			m.mu.Lock()
			m.settle(s, v, ok)
			m.mu.Unlock()
			return
		default:
		}
	}
}

// settle gives s, owned by the caller, up after a receive from its src
// that returned v, ok: s ends if src is closed (!ok) or s was told to
// quit, holding v if ok; otherwise s is queued for a turn with v in hand.
// m.mu must be held.
func (m *Mux[T]) settle(s *source[T], v T, ok bool) {
	if ok {
		s.hold(v)
	}
	if !ok || isClosed(s.quit) {
		m.end(s)
		return
	}
	m.enqueue(s)
}

// enqueue queues s for a turn and rings the dispatcher. m.mu must be held.
func (m *Mux[T]) enqueue(s *source[T]) {
	s.state = queued
	m.turns.push(s)
	m.ring()
}

// requeue queues s, just served, for its next turn, unless it was told to
// quit meanwhile. m.mu must be held.
func (m *Mux[T]) requeue(s *source[T]) {
	if isClosed(s.quit) {
		m.end(s)
		return
	}
	s.state = queued
	m.turns.push(s)
}

// await hands s, found empty, to a new waiter goroutine, unless it was
// told to quit meanwhile. m.mu must be held.
func (m *Mux[T]) await(s *source[T]) {
	if isClosed(s.quit) {
		m.end(s)
		return
	}
	s.state = waiting
	m.wg.Add(1)
	go m.wait(s)
}

// signal tells s to quit: a queued source ends at once, an owned one is
// ended by its owner. m.mu must be held.
func (m *Mux[T]) signal(s *source[T]) {
	switch {
	case s.state == ended:
	case s.state == queued:
		m.turns.remove(s)
		m.end(s)
	case !isClosed(s.quit):
		close(s.quit)
	}
}

// end ends s. The end of the last source after Close closes the output,
// and rings the dispatcher so that it returns. m.mu must be held.
func (m *Mux[T]) end(s *source[T]) {
	s.state = ended
	if !isClosed(s.quit) {
		close(s.quit)
	}
	close(s.ended)
	delete(m.sources, s)
	if len(m.sources) == 0 {
		m.ring()
		if m.closing && !m.stopping && !m.closed {
			m.finish()
		}
	}
}

// ring wakes the dispatcher if it is parked, or makes its next park
// return at once.
func (m *Mux[T]) ring() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// trySend sends v on c if it can without blocking, and reports whether it
// did.
func trySend[T any](c chan<- T, v T) bool {
	select {
	case c <- v:
		return true
	default:
		return false
	}
}

// isClosed reports whether c, which is only ever closed, is closed.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
