package mux

import (
	"context"
	"errors"
	"fmt"
)

// ErrClosed is returned by [Mux.Next] once [Mux.C] is closed and drained,
// and by [Mux.Add] once [Mux.Close] or [Mux.Stop] has been called.
var ErrClosed = errors.New("mux: closed")

// ctxError returns the error for a context that has ended, prefixed with
// op: it matches ctx.Err() (so errors.Is(err, context.DeadlineExceeded)
// works) and, when the context was cancelled with a distinct cause, that
// cause too.
func ctxError(op string, ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("mux: %s: %w: %w", op, err, cause)
	}
	return fmt.Errorf("mux: %s: %w", op, err)
}
