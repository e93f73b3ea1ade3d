package carrot_test

import (
	"context"
	"fmt"

	"github.com/kelpmq/kelp/compat/carrot"
	"github.com/kelpmq/kelp/conn"
)

// carrot's classic feed example, ported.
func Example() {
	ctx := context.Background()
	c, err := conn.Dial(ctx, "memory://carrot-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	consumer, err := carrot.NewConsumer(ctx, c, carrot.ConsumerConfig{
		Queue: "feed", Exchange: "feed", RoutingKey: "importer"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer consumer.Close()
	consumer.RegisterCallback(func(ctx context.Context, data any, m *carrot.Message) {
		feed := data.(map[string]any)
		fmt.Println("importing", feed["import_feed"])
		_ = m.Ack(ctx)
	})

	publisher, _ := carrot.NewPublisher(ctx, c, carrot.PublisherConfig{
		Exchange: "feed", RoutingKey: "importer"})

	// Polling with basic.get.
	_ = publisher.Send(ctx, "hello")
	m, _ := consumer.Fetch(ctx)
	v, _ := m.Payload()
	fmt.Println(v, m.ContentType)
	_ = m.Ack(ctx)
	_, err = consumer.Fetch(ctx)
	fmt.Println(err)

	// Consuming with callbacks.
	_ = publisher.Send(ctx, map[string]string{"import_feed": "http://cnn.com/rss/edition.rss"})
	_ = publisher.Send(ctx, map[string]string{"import_feed": "http://example.com/feed"})
	fmt.Println(consumer.Wait(ctx, 2))
	// Output:
	// hello application/json
	// carrot: conn: queue is empty
	// importing http://cnn.com/rss/edition.rss
	// importing http://example.com/feed
	// <nil>
}
