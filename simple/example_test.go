package simple_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/simple"
	"github.com/kelpmq/kelp/transports/memory"
)

// A SimpleQueue on the in-process memory broker: put, count, get, and
// an empty queue's timeout.
func Example() {
	ctx := context.Background()
	broker := memory.New()
	defer broker.Close(ctx)
	c, err := conn.Open(ctx, broker.Connector(), conn.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	q, err := simple.NewQueue(ctx, c, "jobs")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()

	_ = q.Put(ctx, map[string]int{"n": 1})
	_ = q.Put(ctx, map[string]int{"n": 2})
	n, _ := q.Len(ctx)
	fmt.Println("len:", n)

	for range 2 {
		d, err := q.Get(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		var job struct{ N int }
		_ = d.Decode(&job)
		fmt.Println("job", job.N)
		_ = d.Ack(ctx)
	}

	wctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = q.Get(wctx)
	fmt.Println(errors.Is(err, simple.ErrEmpty), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// len: 2
	// job 1
	// job 2
	// true true
}

// A SimpleBuffer: no-ack, transient, gone with its connection.
func ExampleNewBuffer() {
	ctx := context.Background()
	c, err := conn.Dial(ctx, "memory://simple-buffer-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	b, _ := simple.NewBuffer(ctx, c, "events")
	defer b.Close()
	_ = b.Put(ctx, "tick")
	d, _ := b.TryGet(ctx)
	fmt.Println(string(d.Body), d.DeliveryMode, d.Settled())
	_, err = b.TryGet(ctx)
	fmt.Println(err)
	// Output:
	// tick transient true
	// simple: queue is empty: conn: queue is empty
}
