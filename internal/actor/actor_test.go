package actor_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/internal/actor"
)

var errBoom = errors.New("boom")

// serve starts a with Serve as its run loop and stops and joins it when the
// test or benchmark ends.
func serve(t testing.TB, a *actor.Actor) *actor.Actor {
	t.Helper()
	a.Start(t.Context(), nil)
	t.Cleanup(func() {
		a.Stop(nil)
		a.Wait()
	})
	return a
}

// occupy keeps the actor busy in a Tell function until release is called.
func occupy(t *testing.T, a *actor.Actor) (release func()) {
	t.Helper()
	busy, free := make(chan struct{}), make(chan struct{})
	if !a.Tell(func() { close(busy); <-free }) {
		t.Fatal("Tell = false on an idle actor")
	}
	<-busy
	return sync.OnceFunc(func() { close(free) })
}

// goid returns the id of the calling goroutine.
func goid() string {
	b := make([]byte, 64)
	return string(bytes.Fields(b[:runtime.Stack(b, false)])[1])
}

func TestCallRunsOnTheActorGoroutine(t *testing.T) {
	a := actor.New(4)
	events := make(chan int)
	var owner string
	count := 0 // owned by the actor goroutine; the race detector checks it
	a.Start(t.Context(), func(ctx context.Context) error {
		owner = goid()
		for {
			select {
			case r := <-a.Mailbox():
				r.Run()
			case n := <-events:
				count += n
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})

	const callers, calls = 8, 200
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				id, err := actor.Call(t.Context(), a, func() (string, error) {
					count++
					return goid(), nil
				})
				if err != nil {
					t.Errorf("Call: %v", err)
					return
				}
				if id != owner {
					t.Errorf("fn ran on goroutine %s, want the actor's %s", id, owner)
					return
				}
			}
		})
	}
	events <- 1000
	wg.Wait()

	got, err := actor.Call(t.Context(), a, func() (int, error) { return count, nil })
	if err != nil || got != callers*calls+1000 {
		t.Errorf("count = %d, %v; want %d, nil", got, err, callers*calls+1000)
	}
	a.Stop(nil)
	if err := a.Wait(); err != nil {
		t.Errorf("Wait after Stop(nil) = %v, want nil", err)
	}
}

func TestZeroActorIsUsable(t *testing.T) {
	var a actor.Actor
	if got := cap(a.Mailbox()); got != actor.DefaultMailbox {
		t.Errorf("zero Actor mailbox capacity = %d, want %d", got, actor.DefaultMailbox)
	}
	serve(t, &a)
	if err := a.Do(t.Context(), func() {}); err != nil {
		t.Errorf("Do on a zero Actor: %v", err)
	}
}

func TestNewMailboxCapacity(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-1, actor.DefaultMailbox},
		{0, actor.DefaultMailbox},
		{1, 1},
		{1000, 1000},
	} {
		if got := cap(actor.New(tc.in).Mailbox()); got != tc.want {
			t.Errorf("cap(New(%d).Mailbox()) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCallReturnsResults(t *testing.T) {
	a := serve(t, actor.New(0))
	for _, tc := range []struct {
		name    string
		fn      func() (int, error)
		want    int
		wantErr error
	}{
		{"value", func() (int, error) { return 42, nil }, 42, nil},
		{"error", func() (int, error) { return 0, errBoom }, 0, errBoom},
		{"value and error", func() (int, error) { return 7, errBoom }, 7, errBoom},
	} {
		got, err := actor.Call(t.Context(), a, tc.fn)
		if got != tc.want || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("%s: Call = %d, %v; want %d, %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
	ran := false
	if err := a.Do(t.Context(), func() { ran = true }); err != nil || !ran {
		t.Errorf("Do = %v, ran = %v; want nil, true", err, ran)
	}
}

func TestTell(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := serve(t, actor.New(2))
		release := occupy(t, a)
		ran := 0
		for i := range 2 {
			if !a.Tell(func() { ran++ }) {
				t.Fatalf("Tell %d = false with room in the mailbox", i)
			}
		}
		if a.Tell(func() { ran++ }) {
			t.Error("Tell = true on a full mailbox")
		}
		release()
		if err := a.Do(t.Context(), func() {}); err != nil {
			t.Fatal(err)
		}
		if ran != 2 {
			t.Errorf("%d Tell functions ran, want 2", ran)
		}
		a.Stop(nil)
		if a.Tell(func() { ran++ }) {
			t.Error("Tell = true on a stopped actor")
		}
	})
}

func TestCallContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		// prepare makes the actor busy (or not) before the call.
		prepare func(t *testing.T) setup
		// ctx returns the caller's context.
		ctx func(t *testing.T) context.Context
		// block makes fn block until released, so ctx ends while it runs.
		block      bool
		wantAfter  time.Duration
		wantErrs   []error
		wantNotErr error
		wantRan    bool
	}{
		{
			name:       "deadline while queued",
			prepare:    busyActor(4),
			ctx:        timeout(time.Second),
			wantAfter:  time.Second,
			wantErrs:   []error{context.DeadlineExceeded},
			wantNotErr: actor.ErrOutcomeUnknown,
		},
		{
			name:       "cancelled with a cause while queued",
			prepare:    busyActor(4),
			ctx:        cancelAfter(2*time.Second, errBoom),
			wantAfter:  2 * time.Second,
			wantErrs:   []error{context.Canceled, errBoom},
			wantNotErr: actor.ErrOutcomeUnknown,
		},
		{
			name:    "already ended",
			prepare: idleActor,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
			wantErrs:   []error{context.Canceled},
			wantNotErr: actor.ErrOutcomeUnknown,
		},
		{
			name:       "deadline while waiting for room",
			prepare:    busyActor(1),
			ctx:        timeout(time.Second),
			wantAfter:  time.Second,
			wantErrs:   []error{context.DeadlineExceeded},
			wantNotErr: actor.ErrOutcomeUnknown,
		},
		{
			name:      "deadline while running",
			prepare:   idleActor,
			ctx:       timeout(time.Second),
			block:     true,
			wantAfter: time.Second,
			wantErrs:  []error{context.DeadlineExceeded, actor.ErrOutcomeUnknown},
			wantRan:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tc.prepare(t)
				ctx := tc.ctx(t)
				unblock := make(chan struct{})
				ran := false
				start := time.Now()
				_, err := actor.Call(ctx, s.a, func() (int, error) {
					ran = true
					if tc.block {
						<-unblock
					}
					return 1, nil
				})
				if got := time.Since(start); got != tc.wantAfter {
					t.Errorf("Call returned after %v, want %v", got, tc.wantAfter)
				}
				for _, want := range tc.wantErrs {
					if !errors.Is(err, want) {
						t.Errorf("Call error %v does not match %v", err, want)
					}
				}
				if tc.wantNotErr != nil && errors.Is(err, tc.wantNotErr) {
					t.Errorf("Call error %v matches %v", err, tc.wantNotErr)
				}
				close(unblock)
				s.release()
				// Once the actor has served everything queued, fn has run
				// only if it had started before ctx ended.
				if err := s.a.Do(t.Context(), func() {}); err != nil {
					t.Fatal(err)
				}
				if ran != tc.wantRan {
					t.Errorf("fn ran = %v, want %v", ran, tc.wantRan)
				}
			})
		})
	}
}

// setup is an actor prepared for a test, and how to free its goroutine.
type setup struct {
	a       *actor.Actor
	release func()
}

func idleActor(t *testing.T) setup {
	return setup{serve(t, actor.New(0)), func() {}}
}

// busyActor returns a setup with an actor whose mailbox holds size requests
// and whose goroutine is busy; with size 1 the mailbox is full too.
func busyActor(size int) func(t *testing.T) setup {
	return func(t *testing.T) setup {
		a := serve(t, actor.New(size))
		release := occupy(t, a)
		if size == 1 && !a.Tell(func() {}) {
			t.Fatal("could not fill the mailbox")
		}
		return setup{a, release}
	}
}

func timeout(d time.Duration) func(t *testing.T) context.Context {
	return func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		t.Cleanup(cancel)
		return ctx
	}
}

func cancelAfter(d time.Duration, cause error) func(t *testing.T) context.Context {
	return func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancelCause(t.Context())
		timer := time.AfterFunc(d, func() { cancel(cause) })
		t.Cleanup(func() { timer.Stop(); cancel(nil) })
		return ctx
	}
}

func TestStop(t *testing.T) {
	otherErr := errors.New("other")
	for _, tc := range []struct {
		name      string
		causes    []error // passed to successive Stop calls
		wantWait  error
		wantCause error
		wantCall  []error // the error of a Call after Stop matches these
	}{
		{"nil cause", []error{nil}, nil, actor.ErrStopped, []error{actor.ErrStopped}},
		{"cause", []error{errBoom}, errBoom, errBoom, []error{actor.ErrStopped, errBoom}},
		{"first cause wins", []error{errBoom, otherErr, nil}, errBoom, errBoom, []error{actor.ErrStopped, errBoom}},
		{"nil first wins", []error{nil, errBoom}, nil, actor.ErrStopped, []error{actor.ErrStopped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := actor.New(0)
			if a.Cause() != nil || a.Err() != nil {
				t.Errorf("before Start: Cause = %v, Err = %v; want nil, nil", a.Cause(), a.Err())
			}
			a.Start(t.Context(), nil)
			for _, c := range tc.causes {
				a.Stop(c)
			}
			if err := a.Wait(); err != tc.wantWait {
				t.Errorf("Wait = %v, want %v", err, tc.wantWait)
			}
			if err := a.Err(); err != tc.wantWait {
				t.Errorf("Err = %v, want %v", err, tc.wantWait)
			}
			if err := a.Cause(); err != tc.wantCause {
				t.Errorf("Cause = %v, want %v", err, tc.wantCause)
			}
			select {
			case <-a.Done():
			default:
				t.Error("Done not closed after Wait")
			}
			_, err := actor.Call(t.Context(), a, func() (int, error) { return 1, nil })
			for _, want := range tc.wantCall {
				if !errors.Is(err, want) {
					t.Errorf("Call after Stop = %v, does not match %v", err, want)
				}
			}
			if err := a.Do(t.Context(), func() {}); !errors.Is(err, actor.ErrStopped) {
				t.Errorf("Do after Stop = %v, want ErrStopped", err)
			}
		})
	}
}

func TestWaitResult(t *testing.T) {
	otherErr := errors.New("other")
	for _, tc := range []struct {
		name      string
		run       func(ctx context.Context) error
		stop      bool  // call Stop(cause) once run is running
		cause     error // for Stop
		wantWait  error
		wantCause error
	}{
		{"run fails on its own", func(context.Context) error { return errBoom }, false, nil, errBoom, errBoom},
		{"run ends on its own", func(context.Context) error { return nil }, false, nil, nil, actor.ErrStopped},
		{"run echoes the cause", returnCause, true, errBoom, errBoom, errBoom},
		{"run returns ctx.Err", returnErr, true, errBoom, errBoom, errBoom},
		{"run returns nil after Stop", returnNil, true, errBoom, errBoom, errBoom},
		{"clean stop echoed", returnCause, true, nil, nil, actor.ErrStopped},
		{"run fails while stopping", func(ctx context.Context) error {
			<-ctx.Done()
			return otherErr
		}, true, errBoom, otherErr, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := actor.New(0)
			running := make(chan struct{})
			a.Start(t.Context(), func(ctx context.Context) error {
				close(running)
				return tc.run(ctx)
			})
			<-running
			if tc.stop {
				a.Stop(tc.cause)
			}
			if err := a.Wait(); err != tc.wantWait {
				t.Errorf("Wait = %v, want %v", err, tc.wantWait)
			}
			if err := a.Cause(); err != tc.wantCause {
				t.Errorf("Cause = %v, want %v", err, tc.wantCause)
			}
			if err := a.Do(t.Context(), func() {}); !errors.Is(err, actor.ErrStopped) || !errors.Is(err, tc.wantCause) {
				t.Errorf("Do after the actor stopped = %v, want ErrStopped and %v", err, tc.wantCause)
			}
		})
	}
}

func returnCause(ctx context.Context) error { <-ctx.Done(); return context.Cause(ctx) }
func returnErr(ctx context.Context) error   { <-ctx.Done(); return ctx.Err() }
func returnNil(ctx context.Context) error   { <-ctx.Done(); return nil }

func TestParentContextStopsActor(t *testing.T) {
	parent, cancel := context.WithCancelCause(t.Context())
	a := actor.New(0)
	a.Start(parent, nil)
	cancel(errBoom)
	if err := a.Wait(); err != errBoom {
		t.Errorf("Wait = %v, want %v", err, errBoom)
	}
	if err := a.Do(t.Context(), func() {}); !errors.Is(err, actor.ErrStopped) || !errors.Is(err, errBoom) {
		t.Errorf("Do = %v, want ErrStopped and %v", err, errBoom)
	}
}

func TestQueuedRequestsFailWhenStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := serve(t, actor.New(8))
		release := occupy(t, a)
		const callers = 5
		errs := make(chan error, callers)
		ran := false
		for range callers {
			go func() {
				errs <- a.Do(context.Background(), func() { ran = true })
			}()
		}
		told := a.Tell(func() { ran = true })
		synctest.Wait() // every caller is queued and waiting for its reply
		a.Stop(errBoom)
		release()
		for range callers {
			if err := <-errs; !errors.Is(err, actor.ErrStopped) || !errors.Is(err, errBoom) {
				t.Errorf("queued Do = %v, want ErrStopped and %v", err, errBoom)
			}
		}
		if err := a.Wait(); err != errBoom {
			t.Errorf("Wait = %v, want %v", err, errBoom)
		}
		if !told || ran {
			t.Errorf("told = %v, a queued function ran = %v; want true, false", told, ran)
		}
	})
}

func TestStopBeforeStart(t *testing.T) {
	a := actor.New(0)
	a.Stop(errBoom)
	select {
	case <-a.Done():
	default:
		t.Fatal("Done not closed by Stop before Start")
	}
	called := false
	a.Start(t.Context(), func(context.Context) error { called = true; return nil })
	if err := a.Wait(); err != errBoom {
		t.Errorf("Wait = %v, want %v", err, errBoom)
	}
	if called {
		t.Error("Start after Stop called run")
	}
	if err := a.Do(t.Context(), func() {}); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("Do = %v, want ErrStopped", err)
	}
}

func TestRequestsBeforeStartWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := actor.New(0)
		got := make(chan int, 1)
		go func() {
			n, _ := actor.Call(t.Context(), a, func() (int, error) { return 5, nil })
			got <- n
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("Call returned before Start")
		default:
		}
		serve(t, a)
		if n := <-got; n != 5 {
			t.Errorf("Call = %d, want 5", n)
		}
	})
}

func TestStartTwicePanics(t *testing.T) {
	a := serve(t, actor.New(0))
	defer func() {
		if recover() == nil {
			t.Error("second Start did not panic")
		}
	}()
	a.Start(t.Context(), nil)
}

func TestPanicInCall(t *testing.T) {
	a := serve(t, actor.New(0))
	for _, tc := range []struct {
		name  string
		value any
		match error // also matched besides ErrPanic
	}{
		{"string", "kaboom", nil},
		{"error", errBoom, errBoom},
	} {
		_, err := actor.Call(t.Context(), a, func() (int, error) { panic(tc.value) })
		var pe *actor.PanicError
		if !errors.Is(err, actor.ErrPanic) || !errors.As(err, &pe) {
			t.Fatalf("%s: Call = %v, want a *PanicError", tc.name, err)
		}
		if pe.Value != tc.value || !strings.Contains(string(pe.Stack), "TestPanicInCall") {
			t.Errorf("%s: PanicError value %v, stack\n%s", tc.name, pe.Value, pe.Stack)
		}
		if tc.match != nil && !errors.Is(err, tc.match) {
			t.Errorf("%s: %v does not match %v", tc.name, err, tc.match)
		}
	}
	if err := a.Do(t.Context(), func() { panic("again") }); !errors.Is(err, actor.ErrPanic) {
		t.Errorf("Do = %v, want ErrPanic", err)
	}
	if n, err := actor.Call(t.Context(), a, func() (int, error) { return 3, nil }); n != 3 || err != nil {
		t.Errorf("Call after panics = %d, %v; want the actor to keep serving", n, err)
	}
}

func TestPanicStopsActor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(a *actor.Actor)
	}{
		{"in Tell", func(a *actor.Actor) {
			a.Start(context.Background(), nil)
			a.Tell(func() { panic("kaboom") })
		}},
		{"in run", func(a *actor.Actor) {
			a.Start(context.Background(), func(context.Context) error { panic("kaboom") })
		}},
		{"Goexit in Do", func(a *actor.Actor) {
			a.Start(context.Background(), nil)
			err := a.Do(context.Background(), runtime.Goexit)
			if !errors.Is(err, actor.ErrPanic) {
				panic("Do with Goexit returned " + err.Error())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := actor.New(0)
			tc.start(a)
			err := a.Wait()
			if !errors.Is(err, actor.ErrPanic) {
				t.Fatalf("Wait = %v, want ErrPanic", err)
			}
			var pe *actor.PanicError
			if errors.As(err, &pe) && pe.Value != "kaboom" {
				t.Errorf("panic value = %v, want kaboom", pe.Value)
			}
			if err := a.Do(context.Background(), func() {}); !errors.Is(err, actor.ErrStopped) || !errors.Is(err, actor.ErrPanic) {
				t.Errorf("Do after the panic = %v, want ErrStopped and ErrPanic", err)
			}
		})
	}
}

// TestCallFromTheActorGoroutine shows the documented limit: the call can
// only end with its context.
func TestCallFromTheActorGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := serve(t, actor.New(0))
		var inner error
		var took time.Duration
		err := a.Do(t.Context(), func() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			inner = a.Do(ctx, func() { t.Error("the nested request ran") })
			took = time.Since(start)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(inner, context.DeadlineExceeded) || took != time.Second {
			t.Errorf("nested Do = %v after %v, want DeadlineExceeded after 1s", inner, took)
		}
		// The abandoned nested request is skipped, not run.
		if err := a.Do(t.Context(), func() {}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStopUnderLoad stops an actor while many callers use it: every call
// either succeeds or fails with ErrStopped, and none hangs.
func TestStopUnderLoad(t *testing.T) {
	a := actor.New(4)
	a.Start(t.Context(), nil)
	n := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				var err error
				if i%2 == 0 {
					_, err = actor.Call(t.Context(), a, func() (int, error) { n++; return n, nil })
				} else {
					err = a.Do(t.Context(), func() { n++ })
				}
				if err != nil {
					if !errors.Is(err, actor.ErrStopped) || !errors.Is(err, errBoom) {
						t.Errorf("call = %v, want nil or ErrStopped", err)
					}
					return
				}
			}
		})
	}
	if err := a.Do(t.Context(), func() {}); err != nil {
		t.Fatal(err)
	}
	a.Stop(errBoom)
	wg.Wait()
	if err := a.Wait(); err != errBoom {
		t.Errorf("Wait = %v, want %v", err, errBoom)
	}
}

func TestRequestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := actor.New(0)
		a.Start(t.Context(), func(ctx context.Context) error {
			r := <-a.Mailbox()
			r.Run()
			r.Run() // a second Run of a Call is a no-op
			actor.Request{}.Run()
			return a.Serve(ctx)
		})
		defer a.Wait()
		defer a.Stop(nil)
		runs := 0
		if err := a.Do(t.Context(), func() { runs++ }); err != nil || runs != 1 {
			t.Errorf("Do = %v after %d runs, want nil after 1", err, runs)
		}
	})
}
