package integration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
)

// Publishing while the broker is unreachable: Publish waits, bounded by
// its ctx, and either succeeds once the broker is back or fails at its
// deadline with an error matching context.DeadlineExceeded.
func TestPublishWhileBrokerDown(t *testing.T) {
	integration.Run(t, func(t *testing.T, b integration.Broker) {
		ctx := integration.Ctx(t, 60*time.Second)
		link := b.Link(t)
		cfg, w := integration.Config(t, "down")
		c := integration.Open(t, link.Connector(), cfg)
		q := b.Queue(t, "down")
		if err := c.Declare(ctx, q); err != nil {
			t.Fatal(err)
		}
		p := c.Producer(conn.WithRoutingKey(q.Name))
		// outage takes the broker down until the test ends, and back up.
		outage := func(t *testing.T) {
			t.Helper()
			e := c.Epoch()
			link.SetDown(true)
			t.Cleanup(func() {
				link.SetDown(false)
				if err := w.WaitOpen(ctx, e+1); err != nil {
					t.Error(err)
				}
			})
			if err := w.WaitLost(ctx, e); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("fails at its deadline", func(t *testing.T) {
			outage(t)
			const timeout = 300 * time.Millisecond
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			err := p.Publish(pctx, "never")
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, conn.ErrTimeout) {
				t.Fatalf("Publish with the broker down = %v, want context.DeadlineExceeded", err)
			}
			if took > timeout+time.Second {
				t.Errorf("Publish returned %v after its %v deadline", took-timeout, timeout)
			}
			t.Logf("Publish failed after %v: %v", took.Round(time.Millisecond), err)
		})

		t.Run("waits and succeeds when it is back", func(t *testing.T) {
			outage(t)
			res := make(chan error, 1)
			go func() { res <- p.Publish(ctx, "after the outage") }()
			// Let the connection fail to reconnect twice more while the
			// publish waits, then bring the broker back.
			if err := link.WaitRefused(ctx, link.Refused()+2); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-res:
				t.Fatalf("Publish returned %v while the broker was unreachable", err)
			default:
			}
			link.SetDown(false)
			if err := <-res; err != nil {
				t.Fatalf("Publish once the broker was back: %v", err)
			}
			d, err := c.Get(ctx, q.Name)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			var body string
			if err := d.Decode(&body); err != nil || body != "after the outage" {
				t.Fatalf("got %q (%v), want the message published during the outage", body, err)
			}
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, q.Name); !errors.Is(err, conn.ErrEmpty) {
				t.Fatalf("second Get = %v, want ErrEmpty: the timed-out publish must not have been sent", err)
			}
		})
	})
}
