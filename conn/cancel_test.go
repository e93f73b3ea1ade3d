package conn_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/route"
)

// cancelBrokers puts these tests on Redis database 13, behind a key prefix
// per test.
var cancelBrokers = brokertest.Config{Label: "conn", RedisDB: 13}

// publishN publishes the bodies 0..n-1 to q.
func publishN(t *testing.T, c *conn.Connection, q route.Queue, n int) {
	t.Helper()
	p := c.Producer(conn.WithRoutingKey(q.Name))
	for i := range n {
		if err := p.Publish(testCtx(t), i); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

// takeAll gets every message left in q, acking each, and checks that none
// was redelivered.
func takeAll(t *testing.T, c *conn.Connection, q route.Queue) []int {
	t.Helper()
	var got []int
	for {
		d, err := c.Get(testCtx(t), q.Name)
		if errors.Is(err, conn.ErrEmpty) {
			return got
		}
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		var v int
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if d.Info.Redelivered {
			t.Errorf("message %d is marked redelivered", v)
		}
		got = append(got, v)
		if err := d.Ack(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// With prefetch 1, cancelling while holding the last wanted delivery takes
// exactly that many messages: nothing more is sent, so nothing is requeued
// and the rest of the queue is left as it was.
func TestCancelTakesExactlyN(t *testing.T) {
	brokertest.Run(t, cancelBrokers, func(t *testing.T, b *brokertest.Target) {
		c := b.Dial(t)
		q := b.Queue(t, "cancel-n")
		if err := c.Declare(testCtx(t), q); err != nil {
			t.Fatal(err)
		}
		const total, want = 6, 3
		publishN(t, c, q, total)
		cons, err := c.Consume(testCtx(t), []route.Queue{q}, conn.WithPrefetch(1))
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Stop()
		for i := range want {
			d := next(t, cons)
			var v int
			if err := d.Decode(&v); err != nil || v != i {
				t.Fatalf("delivery %d: %v %v", i, v, err)
			}
			if i == want-1 {
				if err := cons.Cancel(testCtx(t)); err != nil {
					t.Fatalf("Cancel: %v", err)
				}
			}
			if err := d.Ack(testCtx(t)); err != nil {
				t.Fatalf("Ack after Cancel: %v", err)
			}
		}
		// Nothing else arrives: C closes.
		ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
		defer cancel()
		if d, err := cons.Next(ctx); !errors.Is(err, conn.ErrClosed) {
			t.Fatalf("Next after Cancel: %+v %v, want ErrClosed", d.Info, err)
		}
		cons.Stop()
		if got := takeAll(t, c, q); len(got) != total-want || got[0] != want {
			t.Fatalf("left in the queue: %v, want %d..%d", got, want, total-1)
		}
	})
}

// Cancel does not wait for the user to read C: the deliveries the broker
// had sent are handed out afterwards, then C closes; requeued, they are
// all there again.
func TestCancelBuffered(t *testing.T) {
	brokertest.Run(t, cancelBrokers, func(t *testing.T, b *brokertest.Target) {
		c := b.Dial(t)
		q := b.Queue(t, "cancel-buf")
		if err := c.Declare(testCtx(t), q); err != nil {
			t.Fatal(err)
		}
		const total = 8
		publishN(t, c, q, total)
		cons, err := c.Consume(testCtx(t), []route.Queue{q}, conn.WithPrefetch(total))
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Stop()
		first := next(t, cons) // the broker is sending
		if err := cons.Cancel(testCtx(t)); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if err := cons.Cancel(testCtx(t)); err != nil {
			t.Fatalf("second Cancel: %v", err)
		}
		held := []conn.Delivery{first}
		for d := range cons.C() {
			held = append(held, d)
		}
		for _, d := range held {
			if err := d.Requeue(testCtx(t)); err != nil {
				t.Fatalf("Requeue after Cancel: %v", err)
			}
		}
		if err := cons.Drain(testCtx(t)); err != nil {
			t.Fatalf("Drain after Cancel: %v", err)
		}
		n := 0
		for {
			d, err := c.Get(testCtx(t), q.Name)
			if errors.Is(err, conn.ErrEmpty) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			_ = d.Ack(testCtx(t))
		}
		if n != total {
			t.Fatalf("%d messages in the queue after requeueing %d handed out, want %d", n, len(held), total)
		}
	})
}

// Cancel on a consumer that ended returns at once.
func TestCancelAfterStop(t *testing.T) {
	_, c := open(t, conn.Config{})
	q := route.NewQueue("cancel-stopped")
	cons, err := c.Consume(testCtx(t), []route.Queue{q})
	if err != nil {
		t.Fatal(err)
	}
	cons.Stop()
	if err := cons.Cancel(testCtx(t)); err != nil {
		t.Fatalf("Cancel after Stop: %v", err)
	}
}

// Cancel while the connection is reconnecting is bounded by its ctx and
// stands: the consumer does not subscribe again after the reconnect.
func TestCancelWhileReconnecting(t *testing.T) {
	b, c := open(t, conn.Config{Reconnect: conn.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}})
	q := route.NewQueue("cancel-reconnect")
	cons, err := c.Consume(testCtx(t), []route.Queue{q})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	b.RefuseConnections(errors.New("down for the test"))
	b.DropConnections("")
	if _, err := c.WaitState(testCtx(t), conn.StateReconnecting); err != nil {
		t.Fatal(err)
	}
	// Cancel waits for the reconnect unless the consumer had not yet seen
	// the session end (then cancelling on the dead session ends it at once).
	short, cancel := context.WithTimeout(testCtx(t), 20*time.Millisecond)
	defer cancel()
	if err := cons.Cancel(short); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Cancel during the outage: %v, want nil or its deadline", err)
	}
	b.RefuseConnections(nil)
	if err := cons.Cancel(testCtx(t)); err != nil {
		t.Fatalf("Cancel after the outage: %v", err)
	}
	if err := c.Producer(conn.WithRoutingKey(q.Name)).Publish(testCtx(t), "after"); err != nil {
		t.Fatal(err)
	}
	if d, err := cons.Next(testCtx(t)); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("Next after Cancel: %q %v, want ErrClosed", d.Body, err)
	}
	if st, _ := b.QueueStats(q.Name); st.Messages != 1 || st.Consumers != 0 {
		t.Fatalf("queue after Cancel: %+v, want the message ready and no consumer", st)
	}
}
