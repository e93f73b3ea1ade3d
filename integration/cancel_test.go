package integration_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
)

// TestQueueDeletedUnderConsumer: when another client deletes the queue a
// consumer reads, the broker cancels the consumer. A consumer that declared
// its queue declares it again and resubscribes on the same Go channel; one
// that consumes a queue it did not declare ends with a clear error.
func TestQueueDeletedUnderConsumer(t *testing.T) {
	integration.Run(t, func(t *testing.T, b integration.Broker) {
		integration.NoLeaks(t)
		ctx := integration.Ctx(t, 30*time.Second)
		cfg, _ := integration.Config(t, "cancel")
		c := integration.Open(t, b.Connector(), cfg)
		other := integration.Open(t, b.Connector(), conn.Config{Name: integration.Unique("cancel-other")})
		q := b.Queue(t, "cancel")

		t.Run("declared queue comes back", func(t *testing.T) {
			cons, err := c.Consume(ctx, []route.Queue{q})
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Stop()
			ch := cons.C()
			if _, err := other.QueueDelete(ctx, q.Name, conn.QueueDeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			// The consumer re-declares the queue; publish until a message
			// arrives (publishes made before the re-declaration are
			// unroutable and dropped by the default exchange).
			p := other.Producer(conn.WithRoutingKey(q.Name))
			got := make(chan conn.Delivery, 1)
			go func() {
				if d, err := cons.Next(ctx); err == nil {
					got <- d
				}
			}()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				if err := p.Publish(ctx, "after delete"); err != nil {
					t.Fatal(err)
				}
				select {
				case d := <-got:
					var s string
					if err := d.Decode(&s); err != nil || s != "after delete" {
						t.Fatalf("delivery after the queue came back: %q, %v", s, err)
					}
					if err := d.Ack(ctx); err != nil {
						t.Fatal(err)
					}
					if cons.C() != ch {
						t.Fatal("the consumer's Go channel changed")
					}
					return
				case <-tick.C:
				case <-ctx.Done():
					t.Fatal("no delivery after the queue was deleted and re-declared")
				}
			}
		})

		t.Run("undeclared queue ends the consumer", func(t *testing.T) {
			name := integration.Unique("cancel-gone")
			if _, err := other.DeclareQueue(ctx, route.Queue{Name: name, Expires: time.Minute}); err != nil {
				t.Fatal(err)
			}
			cons, err := c.Consume(ctx, conn.QueueNames(name))
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Stop()
			if _, err := other.QueueDelete(ctx, name, conn.QueueDeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-cons.Done():
			case <-ctx.Done():
				t.Fatal("the consumer of a deleted queue it never declared did not end")
			}
			if err := cons.Err(); !errors.Is(err, conn.ErrNotFound) {
				t.Fatalf("consumer ended with %v, want an error matching conn.ErrNotFound", err)
			}
		})
	})
}
