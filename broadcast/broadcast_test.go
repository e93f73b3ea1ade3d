package broadcast_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/kelpmq/kelp/broadcast"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/route"
)

// forEach runs f on every broker with a fresh connection and exchange
// name; the exchange is deleted afterwards.
func forEach(t *testing.T, f func(t *testing.T, c *conn.Connection, name string)) {
	for _, b := range brokers {
		t.Run(b.Name, func(t *testing.T) {
			c := b.Open(t).Dial(t)
			name := brokertest.Unique("bcast-test")
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = c.ExchangeDelete(ctx, name, false)
			})
			f(t, c, name)
		})
	}
}

func subscribe(t *testing.T, b *broadcast.Broadcast, opts ...conn.ConsumeOption) *broadcast.Subscription {
	t.Helper()
	s, err := b.Subscribe(testCtx(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// receive returns the next message body of s, acked.
func receive(t *testing.T, s *broadcast.Subscription) string {
	t.Helper()
	ctx := testCtx(t)
	d, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next on %s: %v", s.Queue(), err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	return string(d.Body)
}

// none checks that s has nothing more to receive right now.
func none(t *testing.T, s *broadcast.Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	if d, err := s.Next(ctx); err == nil {
		t.Fatalf("%s got %q, want nothing", s.Queue(), d.Body)
	}
}

var kombuName = regexp.MustCompile(`^bcast\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestFanout(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		b, err := broadcast.New(c, name)
		if err != nil {
			t.Fatal(err)
		}
		s1, s2 := subscribe(t, b), subscribe(t, b)
		if !kombuName.MatchString(s1.Queue()) || s1.Queue() == s2.Queue() {
			t.Fatalf("queues %q and %q, want distinct bcast.<uuid4>", s1.Queue(), s2.Queue())
		}
		if err := b.Publish(ctx, []byte("one"), conn.WithRoutingKey("ignored")); err != nil {
			t.Fatal(err)
		}
		late := subscribe(t, b)
		if err := b.Publish(ctx, []byte("two")); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*broadcast.Subscription{s1, s2} {
			if a, b := receive(t, s), receive(t, s); a != "one" || b != "two" {
				t.Fatalf("%s got %q, %q; want one, two", s.Queue(), a, b)
			}
		}
		if got := receive(t, late); got != "two" {
			t.Fatalf("late subscriber got %q, want only the later message", got)
		}
		none(t, late)
		// Close deletes a subscriber's own queue; the others still receive.
		if err := s1.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeclareQueue(ctx, route.Queue{Name: s1.Queue(), Passive: true}); !errors.Is(err, conn.ErrNotFound) {
			t.Fatalf("queue after Close: %v, want ErrNotFound", err)
		}
		if err := b.Publish(ctx, []byte("three")); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, s2); got != "three" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestSharedQueue(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		shared := name + "-workers"
		b, err := broadcast.New(c, name, broadcast.WithQueue(shared))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = c.QueueDelete(context.Background(), shared, conn.QueueDeleteOptions{}) })
		w1, w2 := subscribe(t, b, conn.WithPrefetch(1)), subscribe(t, b, conn.WithPrefetch(1))
		if w1.Queue() != shared || w2.Queue() != shared {
			t.Fatalf("queues %q, %q; want the shared %q", w1.Queue(), w2.Queue(), shared)
		}
		// Each message reaches one of the two: they share the queue.
		for _, m := range []string{"a", "b"} {
			if err := b.Publish(ctx, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]bool{}
		for range 2 {
			select {
			case d := <-w1.C():
				got[string(d.Body)] = true
				_ = d.Ack(ctx)
			case d := <-w2.C():
				got[string(d.Body)] = true
				_ = d.Ack(ctx)
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
		if !got["a"] || !got["b"] {
			t.Fatalf("got %v", got)
		}
		none(t, w1)
		none(t, w2)

		u, err := broadcast.New(c, name, broadcast.WithQueue("svc"), broadcast.WithUnique())
		if err != nil {
			t.Fatal(err)
		}
		s := subscribe(t, u)
		if ok, _ := regexp.MatchString(`^svc\.[0-9a-f-]{36}$`, s.Queue()); !ok {
			t.Fatalf("unique queue %q, want svc.<uuid>", s.Queue())
		}
	})
}

func TestQueue(t *testing.T) {
	q, err := broadcast.Queue("events")
	if err != nil {
		t.Fatal(err)
	}
	if !kombuName.MatchString(q.Name) || !q.AutoDelete || !q.Durable || len(q.Bindings) != 1 {
		t.Fatalf("Queue = %+v, want Kombu's Broadcast", q)
	}
	if ex := q.Bindings[0].Exchange; ex.Key() != broadcast.Exchange("events").Key() || ex.Name != "events" || ex.Kind != route.Fanout || !ex.Durable {
		t.Fatalf("exchange %+v", ex)
	}
	if q2, _ := broadcast.Queue("events"); q2.Name == q.Name {
		t.Fatal("two Queue calls share a name")
	}
	if q, _ := broadcast.Queue("events", broadcast.WithQueue("fixed")); q.Name != "fixed" {
		t.Fatalf("WithQueue: %q", q.Name)
	}
	c := brokers[0].Open(t).Dial(t)
	for name, err := range map[string]error{
		"empty exchange": func() error { _, err := broadcast.Queue(""); return err }(),
		"empty queue":    func() error { _, err := broadcast.Queue("x", broadcast.WithQueue("")); return err }(),
		"New nil conn":   func() error { _, err := broadcast.New(nil, "x"); return err }(),
		"New no name":    func() error { _, err := broadcast.New(c, ""); return err }(),
		"New bad option": func() error { _, err := broadcast.New(c, "x", broadcast.WithQueue("")); return err }(),
	} {
		if !errors.Is(err, broadcast.ErrInvalidOption) || !errors.Is(err, conn.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}
