package memory_test

import (
	"context"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// BenchmarkPublishConsumeAck measures the round trip through the SPI: one
// goroutine publishes, a consumer with prefetch 100 receives and acks every
// delivery.
func BenchmarkPublishConsumeAck(b *testing.B) {
	ctx := context.Background()
	br := memory.New()
	defer br.Close(ctx)
	conn, err := br.Connector().Connect(ctx, transports.ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	pub, _ := conn.Channel(ctx)
	sub, _ := conn.Channel(ctx)
	if _, err := pub.QueueDeclare(ctx, route.NewQueue("bench")); err != nil {
		b.Fatal(err)
	}
	if err := sub.Qos(ctx, transports.Qos{PrefetchCount: 100}); err != nil {
		b.Fatal(err)
	}
	s, err := sub.Consume(ctx, transports.ConsumeArgs{Queue: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 256)
	msg := transports.Publishing{RoutingKey: "bench", Message: transports.Message{
		Body: body, Properties: transports.Properties{ContentType: "application/json", DeliveryMode: 2}}}
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := pub.Publish(ctx, msg); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		d := <-s.Deliveries()
		if err := sub.Ack(ctx, d.Tag, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
