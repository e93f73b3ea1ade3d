package mux

// An Option configures a [Mux] at [New].
type Option[T any] struct {
	apply func(*Mux[T])
}

// OnAbandon sets the function that receives every item the mux took from a
// source but could not deliver because [Mux.Stop] or a source's remove
// function was called first. Each such item is passed to f exactly once,
// on the goroutine of the Stop or remove call, before that call returns;
// calls made by concurrent Stop and remove calls may overlap. f must not
// call Stop on the same mux: Stop would wait for itself.
//
// Without OnAbandon those items are discarded: a caller that cannot afford
// to lose them (a consumer that must requeue a delivery) must set it.
func OnAbandon[T any](f func(T)) Option[T] {
	return Option[T]{apply: func(m *Mux[T]) { m.onAbandon = f }}
}
