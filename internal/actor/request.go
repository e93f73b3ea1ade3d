package actor

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Request is one unit of work in an actor's mailbox. The run function
// receives requests from [Actor.Mailbox] and calls [Request.Run] on each.
type Request struct {
	a *Actor
	j job
}

// job is what a Request carries: a Call, a Do or a Tell.
type job interface {
	exec(a *Actor)
}

// Run runs the request on the calling goroutine, which must be the actor
// goroutine, and replies to its caller. It skips a request whose caller's
// context has already ended, and it recovers a panic: the caller of
// [Call] or [Actor.Do] gets a [*PanicError], while a panic in an
// [Actor.Tell] function, having no caller to go to, stops the actor with
// that error as the cause. Run must be called at most once per request;
// the zero Request does nothing.
func (r Request) Run() {
	if r.j != nil {
		r.j.exec(r.a)
	}
}

// States of a reply.
const (
	statePending   uint32 = iota // queued; nobody has claimed it
	stateRunning                 // the actor claimed it and runs (or ran) it
	stateAbandoned               // the caller's context ended first; it never runs
)

// reply is the rendezvous between a caller waiting for a request and the
// actor running it. Whoever moves state away from statePending decides
// whether the function runs.
type reply struct {
	ctx   context.Context
	state atomic.Uint32
	done  chan struct{} // buffered 1 so the actor never blocks replying
	err   error         // written by the actor before it sends on done
}

// newReply makes a fresh reply channel per request. (Recycling them
// through a sync.Pool saves an allocation but breaks testing/synctest: a
// channel made outside a bubble never counts as durably blocking in it.)
func newReply(ctx context.Context) reply {
	return reply{ctx: ctx, done: make(chan struct{}, 1)}
}

// run claims the request and, unless its caller has given up, calls fn,
// records its error (or its panic) and replies. It runs on the actor
// goroutine.
func (r *reply) run(fn func() error) {
	if r.ctx.Err() != nil {
		r.state.CompareAndSwap(statePending, stateAbandoned)
		return
	}
	if !r.state.CompareAndSwap(statePending, stateRunning) {
		return
	}
	normal := false
	defer func() {
		if !normal {
			r.err = recovered(recover())
		}
		r.done <- struct{}{}
	}()
	r.err = fn()
	normal = true
}

// wait blocks until the actor has replied, the caller's context has ended
// or the actor has stopped. It returns nil when the reply arrived, and
// otherwise the error for the caller.
func (r *reply) wait(a *Actor) error {
	select {
	case <-r.done:
		return nil
	case <-r.ctx.Done():
		if r.state.CompareAndSwap(statePending, stateAbandoned) || r.state.Load() == stateAbandoned {
			return fmt.Errorf("actor: request not run: %w", ctxError(r.ctx))
		}
		select {
		case <-r.done: // it finished after all
			return nil
		default:
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctxError(r.ctx))
		}
	case <-a.done:
		if r.state.CompareAndSwap(statePending, stateAbandoned) {
			return a.stoppedErr()
		}
		if r.state.Load() == stateAbandoned { // skipped for its context
			return fmt.Errorf("actor: request not run: %w", ctxError(r.ctx))
		}
		// The actor ran it before stopping, so the reply is buffered.
		select {
		case <-r.done:
			return nil
		case <-r.ctx.Done():
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctxError(r.ctx))
		}
	}
}

// callJob is the job of Call.
type callJob[R any] struct {
	reply
	fn  func() (R, error)
	res R
}

func (c *callJob[R]) exec(*Actor) {
	c.run(func() (err error) {
		c.res, err = c.fn()
		return err
	})
}

// doJob is the job of Do.
type doJob struct {
	reply
	fn func()
}

func (d *doJob) exec(*Actor) {
	d.run(func() error {
		d.fn()
		return nil
	})
}

// tellJob is the job of Tell.
type tellJob func()

func (f tellJob) exec(a *Actor) {
	normal := false
	defer func() {
		if !normal {
			a.Stop(recovered(recover()))
		}
	}()
	f()
	normal = true
}

// send puts j in the mailbox, waiting for room until ctx ends or the actor
// stops.
func (a *Actor) send(ctx context.Context, j job) error {
	a.setup()
	if a.stopped.Load() {
		return a.stoppedErr()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("actor: request not sent: %w", ctxError(ctx))
	}
	r := Request{a: a, j: j}
	select {
	case a.mailbox <- r:
		return nil
	default:
	}
	select {
	case a.mailbox <- r:
		return nil
	case <-a.stopping:
		return a.stoppedErr()
	case <-ctx.Done():
		return fmt.Errorf("actor: request not sent: %w", ctxError(ctx))
	}
}

// Call runs fn on the actor goroutine and returns its results. It waits
// for room in the mailbox and then for the reply, both bounded by ctx.
//
// Outcomes, besides fn's own results:
//   - ctx ends before the actor starts fn: an error matching ctx.Err() (and
//     its cause); fn never runs, as the actor skips requests whose context
//     has ended.
//   - ctx ends while fn runs: an error matching [ErrOutcomeUnknown] and
//     ctx.Err(), and fn's results are dropped; but if fn has finished by
//     the time Call sees ctx end, Call returns fn's results.
//   - the actor is stopped or stops before running fn: an error matching
//     [ErrStopped] and the stop cause; fn never runs.
//   - fn panics: a [*PanicError]; the actor keeps running.
//
// Call must not be called from the actor goroutine (from run or from a
// function the actor runs): the actor would wait for itself, and Call
// could only return when ctx ends. Run the code directly instead, or use
// [Actor.Tell] to schedule it.
func Call[R any](ctx context.Context, a *Actor, fn func() (R, error)) (R, error) {
	c := &callJob[R]{reply: newReply(ctx), fn: fn}
	if err := a.send(ctx, c); err != nil {
		var zero R
		return zero, err
	}
	if err := c.wait(a); err != nil {
		var zero R
		return zero, err
	}
	return c.res, c.err
}

// Do runs fn on the actor goroutine and waits for it, like [Call] for a
// function without results; it returns the same errors.
func (a *Actor) Do(ctx context.Context, fn func()) error {
	d := &doJob{reply: newReply(ctx), fn: fn}
	if err := a.send(ctx, d); err != nil {
		return err
	}
	if err := d.wait(a); err != nil {
		return err
	}
	return d.err
}

// Tell queues fn to run on the actor goroutine and returns at once. It
// reports false, without queueing, when the mailbox is full or the actor is
// stopping. True means queued, not run: fn is dropped if the actor stops
// first. A panic in fn stops the actor with a [*PanicError] as the cause.
// Tell never blocks, so the actor may use it to schedule work for itself.
func (a *Actor) Tell(fn func()) bool {
	a.setup()
	if a.stopped.Load() {
		return false
	}
	select {
	case a.mailbox <- Request{a: a, j: tellJob(fn)}:
		return true
	default:
		return false
	}
}
