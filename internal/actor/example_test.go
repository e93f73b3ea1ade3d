package actor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kelpmq/kelp/internal/actor"
)

// An actor owns a map; many goroutines update it without a lock.
func Example() {
	ctx := context.Background()
	a := actor.New(0)
	a.Start(ctx, nil) // a nil run serves the mailbox

	hits := map[string]int{} // touched only on the actor goroutine
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_ = a.Do(ctx, func() { hits["home"]++ })
		})
	}
	wg.Wait()

	n, err := actor.Call(ctx, a, func() (int, error) { return hits["home"], nil })
	fmt.Println(n, err)

	a.Stop(nil)
	fmt.Println(a.Wait())
	_, err = actor.Call(ctx, a, func() (int, error) { return hits["home"], nil })
	fmt.Println(err)
	// Output:
	// 10 <nil>
	// <nil>
	// actor: stopped
}

// A run loop that serves the mailbox next to its own events, and stops
// with a cause.
func ExampleActor_Start() {
	ticks := make(chan int)
	a := actor.New(0)
	total := 0
	a.Start(context.Background(), func(ctx context.Context) error {
		for {
			select {
			case r := <-a.Mailbox():
				r.Run()
			case n := <-ticks:
				total += n
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})
	ticks <- 2
	ticks <- 3
	sum, _ := actor.Call(context.Background(), a, func() (int, error) { return total, nil })
	fmt.Println("total:", sum)

	a.Stop(errors.New("connection lost"))
	fmt.Println("wait:", a.Wait())
	// Output:
	// total: 5
	// wait: connection lost
}

func ExampleBackoff_Cap() {
	var b actor.Backoff // 100ms doubling up to 30s
	for attempt := range 10 {
		fmt.Print(b.Cap(attempt), " ")
	}
	fmt.Println()
	// Output:
	// 100ms 200ms 400ms 800ms 1.6s 3.2s 6.4s 12.8s 25.6s 30s
}

func ExampleSupervise() {
	p := actor.Policy{
		Backoff: actor.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
		OnRestart: func(attempt int, err error, _ time.Duration) {
			fmt.Printf("restart %d after: %v\n", attempt, err)
		},
	}
	dials := 0
	err := actor.Supervise(context.Background(), p, func(ctx context.Context) error {
		dials++
		switch dials {
		case 1, 2:
			return errors.New("connection refused")
		default:
			return actor.Permanent(errors.New("access refused"))
		}
	})
	fmt.Println("gave up:", err)
	// Output:
	// restart 1 after: connection refused
	// restart 2 after: connection refused
	// gave up: access refused
}
