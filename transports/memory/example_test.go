package memory_test

import (
	"context"
	"fmt"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// A test double in a few lines: an isolated broker, a topic exchange, a
// consumer, and a fault injected on purpose.
func Example() {
	ctx := context.Background()
	b := memory.New()
	defer b.Close(ctx)

	conn, _ := b.Connector().Connect(ctx, transports.ConnectOptions{Name: "worker"})
	ch, _ := conn.Channel(ctx)
	_ = ch.ExchangeDeclare(ctx, route.NewExchange("events", route.Topic))
	_, _ = ch.QueueDeclare(ctx, route.NewQueue("audit"))
	_ = ch.QueueBind(ctx, "audit", "events", "user.#", nil)
	_, _ = ch.Publish(ctx, transports.Publishing{Exchange: "events", RoutingKey: "user.created",
		Message: transports.Message{Body: []byte(`{"id":1}`)}})

	sub, _ := ch.Consume(ctx, transports.ConsumeArgs{Queue: "audit"})
	d := <-sub.Deliveries()
	fmt.Printf("%s via %s: %s\n", d.RoutingKey, d.Exchange, d.Body)

	// The connection dies before the ack: the message goes back.
	b.DropConnections("worker")
	st, _ := b.QueueStats("audit")
	fmt.Println("ready:", st.Messages, "connection lost:", conn.Err() != nil)
	// Output:
	// user.created via events: {"id":1}
	// ready: 1 connection lost: true
}
