package conn_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// A dropped connection mid-stream loses no acknowledged-mode message, and
// the consumer keeps delivering on the same Go channel.
func TestReconnectMidStreamLosesNothing(t *testing.T) {
	b, c := open(t, conn.Config{Reconnect: conn.Backoff{Initial: time.Millisecond}})
	ctx := testCtx(t)
	const n = 300
	cons, err := c.Consume(ctx, []route.Queue{route.NewQueue("stream")}, conn.WithPrefetch(20))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	ch := cons.C()
	p := c.Producer(conn.WithRoutingKey("stream"))
	for i := range n {
		if err := p.Publish(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]bool{}
	dropped := map[int]bool{}
	stale := 0
	for len(seen) < n {
		var d conn.Delivery
		select {
		case d = <-ch:
		case <-ctx.Done():
			t.Fatalf("only %d of %d messages arrived", len(seen), n)
		}
		var i int
		if err := d.Decode(&i); err != nil {
			t.Fatal(err)
		}
		if k := len(seen); (k == 100 || k == 200) && !dropped[k] {
			dropped[k] = true
			b.DropConnections("")
		}
		switch err := d.Ack(ctx); {
		case err == nil:
			seen[i] = true
		case errors.Is(err, conn.ErrStaleDelivery):
			stale++ // redelivered later
		default:
			t.Fatal(err)
		}
	}
	if cons.C() != ch {
		t.Fatal("C changed across reconnects")
	}
	if c.Epoch() < 3 || stale == 0 {
		t.Fatalf("epoch %d, %d stale settles: the drops did not happen mid-stream", c.Epoch(), stale)
	}
	if st, _ := b.QueueStats("stream"); st.Messages != 0 {
		t.Fatalf("left in queue: %+v", st)
	}
}

func TestStaleDeliveryNeverReachesBroker(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	cons, err := c.Consume(ctx, []route.Queue{route.NewQueue("stale")})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	if err := c.Producer().Publish(ctx, "m", conn.WithRoutingKey("stale")); err != nil {
		t.Fatal(err)
	}
	old := next(t, cons)
	b.DropConnections("")
	waitEpoch(t, c, 2)
	if err := old.Ack(ctx); !errors.Is(err, conn.ErrStaleDelivery) {
		t.Fatalf("Ack from epoch 1 in epoch 2 = %v", err)
	}
	d := next(t, cons)
	if !d.Info.Redelivered || d.Info.Epoch != 2 {
		t.Fatalf("redelivery: %+v", d.Info)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.QueueStats("stale"); st.Messages != 0 || st.Unacked != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Publishes racing with connection drops succeed under a retry policy:
// lost confirmations and lost connections are retried after reconnecting
// (at least once: the queue may hold duplicates).
func TestPublishRetriesAcrossDrops(t *testing.T) {
	b, c := open(t, conn.Config{Reconnect: conn.Backoff{Initial: time.Millisecond}})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("retry")); err != nil {
		t.Fatal(err)
	}
	var retried atomic.Int64
	p := c.Producer(conn.WithRoutingKey("retry"), conn.WithRetry(conn.RetryPolicy{
		MaxRetries: -1, IntervalStep: time.Millisecond, IntervalMax: time.Millisecond,
		OnRetry: func(err error, _ int, _ time.Duration) {
			if !errors.Is(err, conn.ErrConfirmLost) && !errors.Is(err, conn.ErrConnectionLost) &&
				!errors.Is(err, conn.ErrChannelClosed) {
				t.Errorf("retried a %v", err)
			}
			retried.Add(1)
		},
	}))
	const n = 400
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range n / 4 {
				if err := p.Publish(ctx, g*1000+i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		time.Sleep(2 * time.Millisecond)
		b.DropConnections("")
	}
	wg.Wait()
	if st, _ := b.QueueStats("retry"); st.Messages < n {
		t.Fatalf("queue holds %d, want at least %d", st.Messages, n)
	}
	t.Logf("%d retries over %d epochs", retried.Load(), c.Epoch())
}

func TestRefusedReconnectBacksOffThenRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := memory.New()
		defer b.Close(ctx)
		var delays []time.Duration
		var mu sync.Mutex
		c, err := conn.Open(ctx, b.Connector(), conn.Config{
			Reconnect: conn.Backoff{Initial: time.Second, Max: 8 * time.Second},
			OnStateChange: func(s conn.StateChange) {
				mu.Lock()
				defer mu.Unlock()
				if s.State == conn.StateReconnecting && s.Err != nil {
					delays = append(delays, 0)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		down := errors.New("broker down")
		b.RefuseConnections(down)
		b.DropConnections("")
		start := time.Now()
		time.Sleep(time.Minute) // many backoff rounds, in fake time
		synctest.Wait()
		if c.State() != conn.StateReconnecting || c.Epoch() != 1 {
			t.Fatalf("while refused: %v epoch %d", c.State(), c.Epoch())
		}
		b.RefuseConnections(nil)
		if _, err := c.WaitState(ctx, conn.StateOpen); err != nil {
			t.Fatal(err)
		}
		if c.Epoch() != 2 {
			t.Fatalf("epoch %d after recovery", c.Epoch())
		}
		// With delays capped at 8s, recovery comes at most 8s after the
		// refusal ends.
		if waited := time.Since(start); waited > time.Minute+8*time.Second {
			t.Fatalf("recovered after %v", waited)
		}
		mu.Lock()
		n := len(delays)
		mu.Unlock()
		// Full jitter: at least a minute of 1s..8s caps gives several rounds,
		// but never a busy loop.
		if n < 5 || n > 2000 {
			t.Fatalf("%d failed rounds in a minute", n)
		}
	})
}

func TestReconnectGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := memory.New()
		defer b.Close(ctx)
		c, err := conn.Open(ctx, b.Connector(), conn.Config{Reconnect: conn.Backoff{MaxAttempts: 3}})
		if err != nil {
			t.Fatal(err)
		}
		down := errors.New("broker down")
		b.RefuseConnections(down)
		b.DropConnections("")
		if _, err := c.WaitState(ctx, conn.StateClosed); err != nil {
			t.Fatal(err)
		}
		if err := c.Err(); !errors.Is(err, down) || !errors.Is(err, conn.ErrConnectionLost) {
			t.Fatalf("Err = %v", err)
		}
		if err := c.Producer().Publish(ctx, "x"); !errors.Is(err, conn.ErrClosed) {
			t.Fatalf("Publish on a closed connection: %v", err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenRetriesUntilCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := memory.New()
		defer b.Close(context.Background())
		b.RefuseConnections(errors.New("not yet"))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := conn.Open(ctx, b.Connector(), conn.Config{})
		if !errors.Is(err, conn.ErrTimeout) || !errors.Is(err, transports.ErrConnLost) {
			t.Fatalf("Open against a refusing broker: %v", err)
		}
		b.RefuseConnections(transports.NewError(403, "ACCESS_REFUSED - bad login"))
		_, err = conn.Open(context.Background(), b.Connector(), conn.Config{})
		if !errors.Is(err, conn.ErrAccessRefused) {
			t.Fatalf("refused login: %v", err)
		}
	})
}

func TestEnsure(t *testing.T) {
	_, c := open(t, conn.Config{})
	ctx := testCtx(t)
	var calls, retries int
	err := c.Ensure(ctx, conn.RetryPolicy{IntervalStep: -1}, func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return conn.ErrConfirmLost
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Ensure = %v after %d calls", err, calls)
	}
	calls = 0
	err = c.Ensure(ctx, conn.RetryPolicy{MaxRetries: 2, IntervalStep: -1, OnRetry: func(error, int, time.Duration) { retries++ }},
		func(ctx context.Context) error { calls++; return transports.ErrConnLost })
	if !errors.Is(err, transports.ErrConnLost) || calls != 3 || retries != 2 {
		t.Fatalf("Ensure = %v after %d calls, %d retries", err, calls, retries)
	}
	calls = 0
	err = c.Ensure(ctx, conn.RetryPolicy{}, func(ctx context.Context) error { calls++; return conn.ErrNotFound })
	if !errors.Is(err, conn.ErrNotFound) || calls != 1 {
		t.Fatalf("permanent error retried: %v after %d calls", err, calls)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	err = c.Ensure(short, conn.RetryPolicy{MaxRetries: -1, IntervalStart: time.Hour},
		func(ctx context.Context) error { return conn.ErrChannelClosed })
	if !errors.Is(err, conn.ErrTimeout) {
		t.Fatalf("Ensure past its deadline: %v", err)
	}
}
