package actor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// DefaultMailbox is the mailbox capacity of a zero Actor and of New(n) for
// n <= 0.
const DefaultMailbox = 64

// Actor is one goroutine that alone owns some state and serves a bounded
// mailbox of requests. The zero value is ready to use with a mailbox of
// [DefaultMailbox] requests; [New] chooses another capacity. An Actor must
// not be copied after first use.
//
// All methods are safe for concurrent use.
type Actor struct {
	size  int         // mailbox capacity requested by New; 0 means default
	ready atomic.Bool // channels below are made

	mailbox  chan Request
	stopping chan struct{} // closed when the actor begins to stop
	done     chan struct{} // closed when the actor has stopped

	stopped atomic.Bool // mirrors stopping for the send fast path

	mu      sync.Mutex
	started bool                    // Start was called
	cancel  context.CancelCauseFunc // cancels run's context; nil before Start
	cause   error                   // why the actor stops; nil while it runs
	stopErr error                   // what requests get once cause is set
	result  error                   // what Wait returns; set before done closes
}

// New returns an Actor whose mailbox holds up to mailbox requests;
// mailbox <= 0 selects [DefaultMailbox].
func New(mailbox int) *Actor {
	a := &Actor{size: mailbox}
	a.setup()
	return a
}

// setup makes the channels once. Every method calls it first so that the
// zero Actor works.
func (a *Actor) setup() {
	if !a.ready.Load() {
		a.setupSlow()
	}
}

func (a *Actor) setupSlow() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ready.Load() {
		return
	}
	size := a.size
	if size <= 0 {
		size = DefaultMailbox
	}
	a.mailbox = make(chan Request, size)
	a.stopping = make(chan struct{})
	a.done = make(chan struct{})
	a.ready.Store(true)
}

// Start starts the actor goroutine, which calls run(ctx) and stops the
// actor when run returns. ctx is derived from parent and is cancelled, with
// the stop cause, by [Actor.Stop] and when run returns. A nil run is
// [Actor.Serve].
//
// run is the owner loop: it alone touches the actor's state, and it must
// serve the mailbox, either by calling [Actor.Serve] or by selecting on
// [Actor.Mailbox] next to its own event channels and calling
// [Request.Run] on every request it receives. run should return soon
// after ctx ends, conventionally with context.Cause(ctx); see
// [Actor.Wait] for how its error is reported.
//
// A panic in run is recovered and becomes the actor's error, a
// [*PanicError]. Start panics if called twice. After [Actor.Stop], Start
// does nothing: run is never called.
func (a *Actor) Start(parent context.Context, run func(ctx context.Context) error) {
	a.setup()
	if run == nil {
		run = a.Serve
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		panic("actor: Start called twice")
	}
	a.started = true
	if a.cause != nil {
		return // stopped before it started; Stop closed done
	}
	ctx, cancel := context.WithCancelCause(parent)
	a.cancel = cancel
	go a.loop(ctx, run)
}

// loop is the actor goroutine.
func (a *Actor) loop(ctx context.Context, run func(context.Context) error) {
	err := errGoexit // kept only if run calls runtime.Goexit
	defer func() { a.exit(err) }()
	err = protect(ctx, run)
}

// protect calls run and turns a panic into a *PanicError.
func protect(ctx context.Context, run func(context.Context) error) (err error) {
	normal := false
	defer func() {
		if !normal {
			err = recovered(recover())
		}
	}()
	err = run(ctx)
	normal = true
	return err
}

// exit records run's error, stops the actor, drops queued requests (their
// callers are released by done) and closes done.
func (a *Actor) exit(runErr error) {
	a.mu.Lock()
	stoppedFirst := a.cause != nil
	cause := runErr
	if cause == nil {
		cause = ErrStopped
	}
	a.stopLocked(cause)
	a.result = result(runErr, a.cause, stoppedFirst)
	a.mu.Unlock()

	for {
		select {
		case <-a.mailbox:
		default:
			close(a.done)
			return
		}
	}
}

// result is what Wait returns when run returned runErr and the actor's
// stop cause is cause. When Stop came first, an error that only echoes the
// stop is replaced by the cause, and a clean stop gives nil.
func result(runErr, cause error, stoppedFirst bool) error {
	if !stoppedFirst {
		return runErr
	}
	if runErr == nil || errors.Is(runErr, context.Canceled) || errors.Is(runErr, cause) {
		if cause == ErrStopped {
			return nil
		}
		return cause
	}
	return runErr
}

// Stop stops the actor with cause: it cancels run's context with cause
// (with [ErrStopped] when cause is nil), makes requests sent from now on
// fail with an error matching [ErrStopped] and cause, and, once run has
// returned, fails the requests still in the mailbox the same way. Stop does
// not wait for run to return; [Actor.Wait] does. Stop is idempotent: only
// the first cause counts. It may be called from any goroutine, including
// the actor's own, and before [Actor.Start].
func (a *Actor) Stop(cause error) {
	a.setup()
	if cause == nil {
		cause = ErrStopped
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopLocked(cause)
	if !a.started || a.cancel == nil {
		// No goroutine will ever close done: close it now.
		select {
		case <-a.done:
		default:
			a.result = result(nil, a.cause, true)
			close(a.done)
		}
	}
}

// stopLocked records the first cause and signals it. a.mu must be held.
func (a *Actor) stopLocked(cause error) {
	if a.cause != nil {
		return
	}
	a.cause = cause
	a.stopErr = stoppedError(cause)
	a.stopped.Store(true)
	close(a.stopping)
	if a.cancel != nil {
		a.cancel(cause)
	}
}

// Wait blocks until the actor has stopped and returns its error: the error
// run returned, except that after [Actor.Stop] an error that merely reports
// that stop (nil, one matching context.Canceled, or one matching the stop
// cause) is replaced by the stop cause, and by nil after Stop(nil). A
// panic in run gives a [*PanicError]. Wait blocks until Start and Stop
// when neither has been called.
func (a *Actor) Wait() error {
	a.setup()
	<-a.done
	return a.result
}

// Done returns a channel that is closed when the actor has stopped: run
// has returned (or will never be called) and no request will run any more.
func (a *Actor) Done() <-chan struct{} {
	a.setup()
	return a.done
}

// Err returns nil until [Actor.Done] is closed, and then what
// [Actor.Wait] returns.
func (a *Actor) Err() error {
	a.setup()
	select {
	case <-a.done:
		return a.result
	default:
		return nil
	}
}

// Cause returns why the actor is stopping or has stopped: nil while it
// runs, the cause given to the first [Actor.Stop], the error run returned
// if it returned first, and [ErrStopped] after Stop(nil) or a nil return
// from run.
func (a *Actor) Cause() error {
	a.setup()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cause
}

// stoppedErr returns the error for requests on a stopping actor.
func (a *Actor) stoppedErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopErr
}

// Mailbox returns the channel of requests for the run function to serve.
// Every request received from it must be run, once, on the actor
// goroutine, with [Request.Run]. Only the run function may receive from
// it.
func (a *Actor) Mailbox() <-chan Request {
	a.setup()
	return a.mailbox
}

// Serve runs requests from the mailbox until ctx ends and then returns
// context.Cause(ctx). It runs no request once ctx has ended: those still
// queued fail with [ErrStopped] when the actor stops. Serve must be called
// on the actor goroutine, from run or as run itself.
func (a *Actor) Serve(ctx context.Context) error {
	a.setup()
	for {
		select {
		case r := <-a.mailbox:
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			r.Run()
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
