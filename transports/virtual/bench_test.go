package virtual_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// BenchmarkTopicPublish publishes through a topic exchange holding 10,
// 1,000 and 100,000 bindings (issue 7's routing scenario for the virtual
// transports): the cost of routing one message by the exchange tables,
// on the memory backend. One binding matches; the queue is capped so
// that memory stays flat.
func BenchmarkTopicPublish(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			ctx := context.Background()
			broker := memory.New()
			b.Cleanup(func() { _ = broker.Close(ctx) })
			c, err := broker.Connector().Connect(ctx, transports.ConnectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			ch, err := c.Channel(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "t", Kind: route.Topic}); err != nil {
				b.Fatal(err)
			}
			if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "q", MaxLength: 1000}); err != nil {
				b.Fatal(err)
			}
			for i := range n - 1 {
				if err := ch.QueueBind(ctx, "q", "t", fmt.Sprintf("other.%d.*", i), nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := ch.QueueBind(ctx, "q", "t", "orders.*.created", nil); err != nil {
				b.Fatal(err)
			}
			p := transports.Publishing{Exchange: "t", RoutingKey: "orders.eu.created",
				Message: transports.Message{Body: make([]byte, 64)}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ch.Publish(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
