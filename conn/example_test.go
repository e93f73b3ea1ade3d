package conn_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/memory"
)

// Publish a JSON message and consume it, on the in-process memory broker.
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

	q := route.NewQueue("greetings")
	p := c.Producer(conn.WithRoutingKey("greetings"), conn.WithDeclare(q))
	if err := p.Publish(ctx, map[string]string{"hello": "world"}); err != nil {
		fmt.Println(err)
		return
	}

	cons, err := c.Consume(ctx, []route.Queue{q})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cons.Stop()
	d := <-cons.C()
	var v map[string]string
	if err := d.Decode(&v); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v["hello"], d.ContentType, d.DeliveryMode)
	fmt.Println(d.Ack(ctx), d.Ack(ctx))
	// Output:
	// world application/json persistent
	// <nil> conn: delivery already settled
}

// Wait on several queues at once through one Go channel, with a timeout.
func Example_manyQueues() {
	ctx := context.Background()
	c, err := conn.Dial(ctx, "memory://example-many")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	logs := route.NewExchange("logs", route.Topic)
	errs := route.NewQueue("errors", route.Bind(logs, "*.error"))
	all := route.NewQueue("all", route.Bind(logs, "#"))
	cons, err := c.Consume(ctx, []route.Queue{errs, all})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cons.Stop()

	p := c.Producer(conn.WithExchange("logs"))
	_ = p.Publish(ctx, "disk full", conn.WithRoutingKey("db.error"))
	_ = p.Publish(ctx, "started", conn.WithRoutingKey("web.info"))

	var got []string
	for {
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		d, err := cons.Next(wctx)
		cancel()
		if errors.Is(err, conn.ErrTimeout) {
			break
		}
		got = append(got, d.Info.Queue+": "+string(d.Body))
		_ = d.Ack(ctx)
	}
	sort.Strings(got)
	for _, g := range got {
		fmt.Println(g)
	}
	// Output:
	// all: disk full
	// all: started
	// errors: disk full
}

// Serve runs a handler per delivery and settles by its error.
func ExampleConnection_Serve() {
	ctx := context.Background()
	broker := memory.New()
	defer broker.Close(ctx)
	c, _ := conn.Open(ctx, broker.Connector(), conn.Config{})
	defer c.Close(ctx)

	q := route.NewQueue("jobs")
	_ = c.Declare(ctx, q)
	_ = c.Producer(conn.WithRoutingKey("jobs")).Publish(ctx, map[string]int{"n": 21})

	sctx, stop := context.WithCancel(ctx)
	err := c.Serve(sctx, []route.Queue{q}, conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
		defer stop() // one job is enough for this example
		var job struct{ N int }
		if err := d.Decode(&job); err != nil {
			return conn.Reject(err) // never retry a malformed job
		}
		fmt.Println("result:", job.N*2)
		return nil // ack
	}), conn.WithConcurrency(4), conn.WithPrefetch(8))
	fmt.Println("serve:", err)
	// Output:
	// result: 42
	// serve: <nil>
}

// Get polls a queue (basic.get).
func ExampleConnection_Get() {
	ctx := context.Background()
	broker := memory.New()
	defer broker.Close(ctx)
	c, _ := conn.Open(ctx, broker.Connector(), conn.Config{})
	defer c.Close(ctx)

	_ = c.Declare(ctx, route.NewQueue("poll"))
	_, err := c.Get(ctx, "poll")
	fmt.Println(err)
	_ = c.Producer(conn.WithRoutingKey("poll")).Publish(ctx, []byte("raw bytes"))
	d, _ := c.Get(ctx, "poll")
	fmt.Println(string(d.Body), d.ContentType, d.Info.MessageCount)
	_ = d.Ack(ctx)
	// Output:
	// conn: queue is empty
	// raw bytes application/data 0
}
