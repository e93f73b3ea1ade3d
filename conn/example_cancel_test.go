package conn_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/memory"
)

// Take exactly two messages from a queue of five: with prefetch 1,
// cancelling while the second is unsettled leaves the other three alone.
func ExampleConsumer_Cancel() {
	ctx := context.Background()
	broker := memory.New()
	defer broker.Close(ctx)
	c, err := conn.Open(ctx, broker.Connector(), conn.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	q := route.NewQueue("jobs")
	p := c.Producer(conn.WithRoutingKey(q.Name), conn.WithDeclare(q))
	for i := range 5 {
		_ = p.Publish(ctx, i)
	}
	cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithPrefetch(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cons.Stop()
	for n := 1; n <= 2; n++ {
		d, err := cons.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if n == 2 {
			_ = cons.Cancel(ctx) // before the ack: nothing more is sent
		}
		fmt.Println("took", string(d.Body))
		_ = d.Ack(ctx)
	}
	_, err = cons.Next(ctx)
	fmt.Println("then:", errors.Is(err, conn.ErrClosed))
	cons.Stop()
	st, _ := broker.QueueStats(q.Name)
	fmt.Println("left in the queue:", st.Messages)
	// Output:
	// took 0
	// took 1
	// then: true
	// left in the queue: 3
}

// Consume and publish on one channel: a pinned channel sends a request
// whose reply comes back on the same channel.
func ExampleConnection_Pin() {
	ctx := context.Background()
	broker := memory.New()
	defer broker.Close(ctx)
	c, err := conn.Open(ctx, broker.Connector(), conn.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	q := route.NewQueue("inbox")
	if err := c.Declare(ctx, q); err != nil {
		fmt.Println(err)
		return
	}
	pin, err := c.Pin(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pin.Close()
	in, err := pin.Consume(ctx, q.Name, conn.WithNoAck())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := pin.Publish(ctx, "ping", conn.WithRoutingKey(q.Name)); err != nil {
		fmt.Println(err)
		return
	}
	d := <-in
	fmt.Println(string(d.Body), pin.Scheme(), pin.Err())
	// Output:
	// ping memory <nil>
}
