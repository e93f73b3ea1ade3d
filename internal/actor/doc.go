// Package actor is the goroutine-actor runtime under kelp's connection and
// channel actors and its drivers: one goroutine that alone owns some state
// and serves a bounded mailbox of requests, stopped with a cause and
// joined like an errgroup; plus exponential backoff with full jitter and
// supervised restarts for reconnect loops.
//
// # Actors
//
// An [Actor] is one goroutine, started by [Actor.Start], running an owner
// loop (run) that alone reads and writes the actor's state. Other
// goroutines never touch that state: they send requests.
//
//   - [Call] runs a function on the actor goroutine and returns its results.
//   - [Actor.Do] is Call for a function without results.
//   - [Actor.Tell] queues a function and returns at once, never blocking.
//
// The run loop serves requests with [Actor.Serve], or selects on
// [Actor.Mailbox] next to its own event channels and calls [Request.Run]
// on each request it receives:
//
//	a := actor.New(0)
//	a.Start(ctx, func(ctx context.Context) error {
//		for {
//			select {
//			case r := <-a.Mailbox():
//				r.Run()
//			case ev := <-events:
//				handle(ev)
//			case <-ctx.Done():
//				return context.Cause(ctx)
//			}
//		}
//	})
//	defer a.Wait()
//	defer a.Stop(nil)
//
// The zero Actor is ready to use, with a mailbox of [DefaultMailbox]
// requests; [New] sets another capacity.
//
// # Requests and contexts
//
// The mailbox is bounded: Call and Do wait for room, and Tell reports false
// when there is none. Call and Do are bounded by their context both while
// waiting for room and while waiting for the reply; their context errors
// match ctx.Err() (errors.Is(err, context.DeadlineExceeded) works) and the
// context's cause.
//
// A request whose caller's context ended before the actor reached it is
// skipped: the function never runs, and the caller knows it from an error
// that matches the context error alone. If the context ends while the
// function runs, the caller gets an error matching [ErrOutcomeUnknown]: the
// function ran or still runs, and its results are dropped. The actor never
// blocks on a reply: each reply has a one-slot buffer.
//
// Functions run by the actor should not block for long: while one runs,
// the actor serves nothing else.
//
// Call and Do must not be used from the actor goroutine itself: the actor
// would wait for its own reply, and the call could only end with its
// context. This is not detected. Run the code directly instead, or Tell it
// to run later.
//
// # Stopping
//
// [Actor.Stop] stops the actor with a cause (nil means a normal stop,
// reported as [ErrStopped]). It cancels run's context with that cause and
// returns without waiting; [Actor.Wait] joins the goroutine and
// [Actor.Done] is closed when it has exited. The actor also stops when run
// returns, with run's error as the cause, and when the parent context of
// Start ends and run returns.
//
// Once an actor is stopping, Call and Do fail fast and Tell returns false.
// Requests still queued are not run once run has returned (and
// [Actor.Serve] runs none after its context ends); their callers get an
// error matching [ErrStopped] and the cause. No caller ever hangs on a
// stopped actor. Requests sent before Start wait in the mailbox until the
// actor starts.
//
// [Actor.Wait] returns run's error, except that after Stop an error that
// merely echoes the stop (nil, context.Canceled, or the cause itself) is
// replaced by the cause, so Stop(nil) gives nil and Stop(err) gives err.
// [Actor.Cause] and [Actor.Err] report the same without blocking.
//
// # Panics
//
// A panic in a function run by Call or Do is recovered on the actor
// goroutine and returned to that caller as a [*PanicError] (matching
// [ErrPanic], carrying the value and stack); the actor keeps running. A
// panic in a Tell function has no caller to go to, so it stops the actor
// with the *PanicError as the cause. A panic in run itself is recovered and
// becomes the actor's error. runtime.Goexit on the actor goroutine is
// treated like a panic.
//
// # Backoff and supervision
//
// [Backoff] computes exponential delays with full jitter and a cap:
// [Backoff.Delay] is uniform in [0, [Backoff.Cap]], and Cap is
// min(Max, Initial×Multiplier^attempt). [Supervise] restarts a function
// that fails, sleeping a Backoff delay between runs, forever by default or
// up to a number of restarts in a row, resetting the attempt count once a
// run stayed up for a while; [Permanent] marks an error that ends
// supervision. Its sleeps are timers bounded by its context, so tests can
// run them under testing/synctest.
//
// # Concurrency
//
// All methods of Actor, and Call, are safe for concurrent use. Backoff and
// Policy are values; a *rand.Rand given to them must not be shared with
// concurrent users. Every goroutine this package starts is the actor
// goroutine of an Actor that has been started, and it exits when run
// returns.
//
// Under testing/synctest, create the Actor inside the bubble that uses it:
// its channels must belong to the bubble for blocked callers to count as
// durably blocked.
package actor
