package integration_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
)

// A settle from an older epoch is refused locally with ErrStaleDelivery,
// whatever the settle, and never reaches the broker: every message comes
// back, redelivered, in the new epoch — even the rejected one.
func TestStaleSettleIsRefusedAndRedelivered(t *testing.T) {
	settles := []struct {
		name   string
		settle func(ctx context.Context, d *conn.Delivery) error
	}{
		{"ack", func(ctx context.Context, d *conn.Delivery) error { return d.Ack(ctx) }},
		{"reject", func(ctx context.Context, d *conn.Delivery) error { return d.Reject(ctx) }},
		{"requeue", func(ctx context.Context, d *conn.Delivery) error { return d.Requeue(ctx) }},
		{"nack", func(ctx context.Context, d *conn.Delivery) error { return d.Nack(ctx, false) }},
	}
	integration.Run(t, func(t *testing.T, b integration.Broker) {
		ctx := integration.Ctx(t, 30*time.Second)
		cfg, w := integration.Config(t, "stale")
		c := integration.Open(t, b.Connector(), cfg)
		q := b.Queue(t, "stale")
		cons := consume(t, ctx, c, q, conn.WithPrefetch(len(settles)))
		p := c.Producer(conn.WithRoutingKey(q.Name))
		for _, s := range settles {
			if err := p.Publish(ctx, s.name); err != nil {
				t.Fatal(err)
			}
		}
		old := map[string]conn.Delivery{}
		for range settles {
			d := next(t, ctx, cons)
			old[body(t, d)] = d
		}

		e := c.Epoch()
		closeConnection(t, ctx, b, c, w, cfg.Name)
		if err := w.WaitOpen(ctx, e+1); err != nil {
			t.Fatal(err)
		}
		for _, s := range settles {
			d := old[s.name]
			if err := s.settle(ctx, &d); !errors.Is(err, conn.ErrStaleDelivery) {
				t.Errorf("%s from epoch %d in epoch %d = %v, want ErrStaleDelivery", s.name, e, c.Epoch(), err)
			}
			if err := d.Ack(ctx); !errors.Is(err, conn.ErrAlreadySettled) {
				t.Errorf("Ack after a stale %s = %v, want ErrAlreadySettled", s.name, err)
			}
		}
		again := map[string]bool{}
		for range settles {
			d := next(t, ctx, cons)
			if !d.Info.Redelivered || d.Info.Epoch != c.Epoch() {
				t.Errorf("%s came back with %+v, want redelivered in epoch %d", body(t, d), d.Info, c.Epoch())
			}
			again[body(t, d)] = true
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range settles {
			if !again[s.name] {
				t.Errorf("the message settled with a stale %s was not redelivered", s.name)
			}
		}
		cons.Stop()
		if n, err := b.Ready(ctx, q.Name); err != nil || n != 0 {
			t.Errorf("%d messages left (%v), want 0", n, err)
		}
	})
}

// Acks from many goroutines at once all go through: every message is
// acked once, racing second acks of the same delivery get
// ErrAlreadySettled, and once the connection is closed nothing comes back
// to the queue.
func TestConcurrentAcks(t *testing.T) {
	const messages, workers = 1000, 8
	integration.Run(t, func(t *testing.T, b integration.Broker) {
		ctx := integration.Ctx(t, 60*time.Second)
		cfg, _ := integration.Config(t, "acks")
		c := integration.Open(t, b.Connector(), cfg)
		q := b.Queue(t, "acks")
		cons := consume(t, ctx, c, q, conn.WithPrefetch(100))
		var pubs sync.WaitGroup
		p := c.Producer(conn.WithRoutingKey(q.Name))
		for w := range workers {
			pubs.Go(func() {
				for i := w; i < messages; i += workers {
					if err := p.Publish(ctx, i); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}

		var acked, doubles atomic.Int64
		seen := make([]atomic.Int32, messages)
		var acks sync.WaitGroup
		for range workers {
			acks.Go(func() {
				for acked.Load() < messages {
					d, err := cons.Next(ctx)
					if errors.Is(err, conn.ErrClosed) {
						return // stopped once every message was acked
					}
					if err != nil {
						t.Error(err)
						return
					}
					var i int
					if err := d.Decode(&i); err != nil || i < 0 || i >= messages {
						t.Errorf("body %q: %v", d.Body, err)
						return
					}
					// Two goroutines ack the same delivery: exactly one wins.
					errs := make(chan error, 2)
					var race sync.WaitGroup
					for range 2 {
						race.Go(func() { errs <- d.Ack(ctx) })
					}
					race.Wait()
					close(errs)
					var ok int
					for err := range errs {
						switch {
						case err == nil:
							ok++
						case errors.Is(err, conn.ErrAlreadySettled):
							doubles.Add(1)
						default:
							t.Errorf("ack of %d: %v", i, err)
						}
					}
					if ok != 1 {
						t.Errorf("message %d: %d acks succeeded, want 1", i, ok)
					}
					seen[i].Add(1)
					if acked.Add(1) == messages {
						cons.Stop() // wakes the other workers
					}
				}
			})
		}
		pubs.Wait()
		acks.Wait()
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Errorf("message %d delivered %d times", i, n)
			}
		}
		if doubles.Load() != messages {
			t.Errorf("%d second acks refused, want %d", doubles.Load(), messages)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// Closing requeues whatever was unacked: an ack lost on the way
		// would show here.
		if n, err := b.Ready(ctx, q.Name); err != nil || n != 0 {
			t.Errorf("%d messages back in the queue after Close (%v), want 0", n, err)
		}
	})
}

func consume(t *testing.T, ctx context.Context, c *conn.Connection, q route.Queue, opts ...conn.ConsumeOption) *conn.Consumer {
	t.Helper()
	cons, err := c.Consume(ctx, []route.Queue{q}, opts...)
	if err != nil {
		t.Fatalf("Consume: %v", err)
	}
	t.Cleanup(cons.Stop)
	return cons
}

func next(t *testing.T, ctx context.Context, cons *conn.Consumer) conn.Delivery {
	t.Helper()
	d, err := cons.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return d
}

func body(t *testing.T, d conn.Delivery) string {
	t.Helper()
	var s string
	if err := d.Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
