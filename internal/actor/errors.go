package actor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

var (
	// ErrStopped reports that the actor stopped before it ran a request.
	// Errors returned for a stopped actor match ErrStopped and, when the
	// actor stopped for a reason other than [Actor.Stop] with a nil cause,
	// that cause too.
	ErrStopped = errors.New("actor: stopped")

	// ErrPanic is matched by every [PanicError].
	ErrPanic = errors.New("actor: panic")

	// ErrOutcomeUnknown reports that the caller's context ended while the
	// actor was already running its request: the request may or may not
	// have taken effect. The error also matches the context's error.
	ErrOutcomeUnknown = errors.New("actor: context ended while the request was running")
)

// errGoexit is the error recorded when a request or a run function calls
// runtime.Goexit (for example through testing.T.FailNow) instead of
// returning.
var errGoexit = fmt.Errorf("%w: runtime.Goexit called on the actor goroutine", ErrPanic)

// PanicError is the error a request's caller gets when its function
// panicked on the actor goroutine, and the error [Actor.Wait] returns when
// the run function itself panicked. It matches [ErrPanic] and, when the
// panic value is an error, that error too.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the actor goroutine at the time of the panic,
	// as formatted by runtime/debug.Stack.
	Stack []byte
}

// Error returns the panic value followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("actor: panic: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns [ErrPanic] and, when the panic value is an error, that
// error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// recovered turns the result of recover() in a deferred function that saw
// its function exit abnormally into an error: a *PanicError, or errGoexit
// when nothing was recovered (the function called runtime.Goexit).
func recovered(p any) error {
	if p == nil {
		return errGoexit
	}
	return &PanicError{Value: p, Stack: debug.Stack()}
}

// ctxError returns the error for a context that has ended: it matches
// ctx.Err() (so errors.Is(err, context.DeadlineExceeded) works) and, when
// the context was cancelled with a distinct cause, that cause too.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// stoppedError returns the error callers get once the actor is stopping
// for cause (never nil).
func stoppedError(cause error) error {
	if errors.Is(cause, ErrStopped) {
		return cause
	}
	return fmt.Errorf("%w: %w", ErrStopped, cause)
}
