package mux

import (
	"context"
	"errors"
	"iter"
)

// Next returns the next item of [Mux.C]. It returns [ErrClosed] once C is
// closed and drained, and an error matching ctx.Err() (and the context's
// cause) if ctx ends first; an already ended ctx always gets the error,
// even when an item is ready. An item is never lost to a context: it stays
// in C for the next receiver.
func (m *Mux[T]) Next(ctx context.Context) (T, error) {
	var zero T
	if ctx.Err() != nil {
		return zero, ctxError("next", ctx)
	}
	select {
	case v, ok := <-m.out:
		if !ok {
			return zero, ErrClosed
		}
		return v, nil
	case <-ctx.Done():
		return zero, ctxError("next", ctx)
	}
}

// All returns an iterator over the items of [Mux.C], as successive
// [Mux.Next] calls would return them. It stops when C is closed and
// drained. If ctx ends first, it yields the zero T with the context error
// once, then stops. Breaking out of the loop leaves the remaining items in
// C; ranging again continues where the last range stopped.
func (m *Mux[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := m.Next(ctx)
			if errors.Is(err, ErrClosed) {
				return
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}
