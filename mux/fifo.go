package mux

// fifo is a growable ring of elements, oldest first. It allocates only to
// grow, so a steady rotation of a fixed set of elements allocates nothing.
type fifo[E comparable] struct {
	buf  []E
	head int // index of the oldest element
	n    int // number of elements
}

// push appends e at the tail.
func (q *fifo[E]) push(e E) {
	if q.n == len(q.buf) {
		buf := make([]E, max(4, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = q.at(i)
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
}

// pop removes and returns the oldest element, if any.
func (q *fifo[E]) pop() (e E, ok bool) {
	if q.n == 0 {
		return e, false
	}
	var zero E
	e, q.buf[q.head] = q.buf[q.head], zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return e, true
}

// remove deletes e, keeping the order of the others, and reports whether
// it was there.
func (q *fifo[E]) remove(e E) bool {
	for i := range q.n {
		if q.at(i) != e {
			continue
		}
		for ; i < q.n-1; i++ {
			q.buf[(q.head+i)%len(q.buf)] = q.at(i + 1)
		}
		var zero E
		q.buf[(q.head+q.n-1)%len(q.buf)] = zero
		q.n--
		return true
	}
	return false
}

// len returns the number of elements.
func (q *fifo[E]) len() int { return q.n }

// at returns the i-th oldest element; i must be below q.n.
func (q *fifo[E]) at(i int) E { return q.buf[(q.head+i)%len(q.buf)] }
