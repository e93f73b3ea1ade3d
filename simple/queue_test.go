package simple_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/simple"
)

// forEach runs f on every broker with a fresh connection and queue name;
// the queue and exchange of that name are deleted afterwards.
func forEach(t *testing.T, f func(t *testing.T, c *conn.Connection, name string)) {
	for _, b := range brokers {
		t.Run(b.Name, func(t *testing.T) {
			c := b.Open(t).Dial(t)
			name := brokertest.Unique("simple")
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, _ = c.QueueDelete(ctx, name, conn.QueueDeleteOptions{})
				_ = c.ExchangeDelete(ctx, name, false)
			})
			f(t, c, name)
		})
	}
}

// mustQueue returns a function that fails t on an error and closes the
// queue when t ends: mustQueue(t)(simple.NewQueue(...)).
func mustQueue(t *testing.T) func(*simple.Queue, error) *simple.Queue {
	return func(q *simple.Queue, err error) *simple.Queue {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Close() })
		return q
	}
}

func wantLen(t *testing.T, q *simple.Queue, want int) {
	t.Helper()
	n, err := q.Len(testCtx(t))
	if err != nil || n != want {
		t.Fatalf("Len = %d, %v; want %d", n, err, want)
	}
}

func decode(t *testing.T, d conn.Delivery) string {
	t.Helper()
	var s string
	if err := d.Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEmpty(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		q := mustQueue(t)(simple.NewQueue(ctx, c, name))
		wantLen(t, q, 0)
		if n, err := q.Clear(ctx); n != 0 || err != nil {
			t.Fatalf("Clear = %d, %v", n, err)
		}
		if _, err := q.TryGet(ctx); !errors.Is(err, simple.ErrEmpty) || !errors.Is(err, conn.ErrEmpty) {
			t.Fatalf("TryGet on empty = %v, want ErrEmpty", err)
		}
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := q.Get(tctx)
		cancel()
		if !errors.Is(err, simple.ErrEmpty) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get past deadline = %v, want ErrEmpty and DeadlineExceeded", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := q.Get(cctx); !errors.Is(err, context.Canceled) || errors.Is(err, simple.ErrEmpty) {
			t.Fatalf("Get cancelled = %v, want Canceled only", err)
		}
		wantLen(t, q, 0) // also with the consumer running
	})
}

func TestPutLenTryGetClear(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		q := mustQueue(t)(simple.NewQueue(ctx, c, name))
		for _, s := range []string{"a", "b", "c"} {
			if err := q.Put(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		wantLen(t, q, 3)
		d, err := q.TryGet(ctx)
		if err != nil || decode(t, d) != "a" {
			t.Fatalf("TryGet = %v", err)
		}
		if d.Info.Exchange != name || d.Info.RoutingKey != name || d.DeliveryMode != route.Persistent {
			t.Fatalf("published to %q/%q mode %v; want the direct exchange named after the queue, persistent",
				d.Info.Exchange, d.Info.RoutingKey, d.DeliveryMode)
		}
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		wantLen(t, q, 2)
		if n, err := q.Clear(ctx); n != 2 || err != nil {
			t.Fatalf("Clear = %d, %v; want 2", n, err)
		}
		wantLen(t, q, 0)
	})
}

func TestGetSettleClose(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		q := mustQueue(t)(simple.NewQueue(ctx, c, name))
		// Get waits for a message published after it started.
		got := make(chan conn.Delivery, 1)
		errc := make(chan error, 1)
		go func() {
			d, err := q.Get(ctx)
			errc <- err
			got <- d
		}()
		if err := q.Put(ctx, "first"); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		d := <-got
		if decode(t, d) != "first" {
			t.Fatal("wrong message")
		}
		if err := d.Requeue(ctx); err != nil {
			t.Fatal(err)
		}
		d, err := q.Get(ctx)
		if err != nil || decode(t, d) != "first" || !d.Info.Redelivered {
			t.Fatalf("Get after requeue = %v, redelivered %v", err, d.Info.Redelivered)
		}
		// Closing with the delivery unsettled gives it back to the queue.
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := d.Ack(ctx); !errors.Is(err, conn.ErrStaleDelivery) {
			t.Fatalf("Ack after Close = %v, want ErrStaleDelivery", err)
		}
		for name, err := range map[string]error{
			"Put":    q.Put(ctx, "x"),
			"Get":    func() error { _, err := q.Get(ctx); return err }(),
			"TryGet": func() error { _, err := q.TryGet(ctx); return err }(),
			"Len":    func() error { _, err := q.Len(ctx); return err }(),
			"Clear":  func() error { _, err := q.Clear(ctx); return err }(),
		} {
			if !errors.Is(err, simple.ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", name, err)
			}
		}
		if err := q.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		q2 := mustQueue(t)(simple.NewQueue(ctx, c, name))
		wantLen(t, q2, 1)
		d, err = q2.TryGet(ctx)
		if err != nil || decode(t, d) != "first" {
			t.Fatalf("TryGet after Close = %v", err)
		}
		_ = d.Ack(ctx)
	})
}

func TestBuffer(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		q := mustQueue(t)(simple.NewBuffer(ctx, c, name))
		if got := q.Queue(); !got.Exclusive || !got.AutoDelete || got.Durable || got.Bindings[0].Exchange.Durable {
			t.Fatalf("buffer declaration %+v, want Kombu's SimpleBuffer", got)
		}
		wantLen(t, q, 0)
		for _, s := range []string{"x", "y"} {
			if err := q.Put(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		d, err := q.TryGet(ctx)
		if err != nil || decode(t, d) != "x" || !d.Settled() {
			t.Fatalf("TryGet = %v", err)
		}
		d, err = q.Get(ctx)
		if err != nil || decode(t, d) != "y" {
			t.Fatalf("Get = %v", err)
		}
		if !d.Settled() || d.DeliveryMode != route.Transient {
			t.Fatalf("buffer delivery settled=%v mode=%v, want no-ack and transient", d.Settled(), d.DeliveryMode)
		}
	})
}

func TestCodecOptions(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		q := mustQueue(t)(simple.NewQueue(ctx, c, name, simple.WithSerializer("msgpack"),
			simple.WithCompression("zlib"), simple.WithAccept("msgpack"), simple.WithPrefetch(10)))
		// JSON is outside the accept list: basic.get hands it out, Decode refuses.
		if err := q.Put(ctx, "j", conn.WithSerializer("json")); err != nil {
			t.Fatal(err)
		}
		d, err := q.TryGet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(new(string)); !errors.Is(err, conn.ErrContentDisallowed) {
			t.Fatalf("Decode json = %v, want ErrContentDisallowed", err)
		}
		_ = d.Ack(ctx)
		if err := q.Put(ctx, map[string]int{"n": 7}); err != nil {
			t.Fatal(err)
		}
		d, err = q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]int
		if err := d.Decode(&v); err != nil || v["n"] != 7 {
			t.Fatalf("Decode = %v, %v", v, err)
		}
		if d.ContentType != "application/x-msgpack" || d.Headers["compression"] != "application/x-gzip" {
			t.Fatalf("content type %q, compression %v", d.ContentType, d.Headers["compression"])
		}
		_ = d.Ack(ctx)
	})
}

func TestInvalid(t *testing.T) {
	c := brokers[0].Open(t).Dial(t)
	ctx := testCtx(t)
	for name, f := range map[string]func() (*simple.Queue, error){
		"prefetch 0":   func() (*simple.Queue, error) { return simple.NewQueue(ctx, c, "p", simple.WithPrefetch(0)) },
		"prefetch big": func() (*simple.Queue, error) { return simple.NewQueue(ctx, c, "p", simple.WithPrefetch(1<<16)) },
		"no name":      func() (*simple.Queue, error) { return simple.New(ctx, c, route.Queue{}) },
		"nil conn":     func() (*simple.Queue, error) { return simple.NewQueue(ctx, nil, "p") },
	} {
		if _, err := f(); !errors.Is(err, simple.ErrInvalidOption) || !errors.Is(err, conn.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	// A queue without bindings goes through the default exchange.
	q := mustQueue(t)(simple.New(ctx, c, route.NewQueue("plain")))
	if err := q.Put(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	d, err := q.TryGet(ctx)
	if err != nil || d.Info.Exchange != "" || d.Info.RoutingKey != "plain" || q.Name() != "plain" {
		t.Fatalf("TryGet = %v via %q/%q", err, d.Info.Exchange, d.Info.RoutingKey)
	}
	_ = d.Ack(ctx)
}

// TestConcurrent runs producers and getters at once: every message is
// received exactly once.
func TestConcurrent(t *testing.T) {
	forEach(t, func(t *testing.T, c *conn.Connection, name string) {
		ctx := testCtx(t)
		q := mustQueue(t)(simple.NewQueue(ctx, c, name, simple.WithPrefetch(4)))
		const workers, each = 4, 25
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					if err := q.Put(ctx, w*each+i); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		seen := make([]bool, workers*each)
		var mu sync.Mutex
		for range workers {
			wg.Go(func() {
				for range each {
					d, err := q.Get(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					_ = d.Decode(&n)
					mu.Lock()
					if seen[n] {
						t.Errorf("message %d twice", n)
					}
					seen[n] = true
					mu.Unlock()
					if err := d.Ack(ctx); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		wantLen(t, q, 0)
	})
}
