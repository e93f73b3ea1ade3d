package conn_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

func TestServeSettleRule(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	dlx := route.NewExchange("serve.dlx", route.Fanout)
	dead := route.NewQueue("serve.dead", route.Bind(dlx, ""))
	q := route.Queue{Name: "serve", Durable: true, DeadLetterExchange: "serve.dlx"}
	if err := c.Declare(ctx, dlx, dead, q); err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("serve"))
	for _, body := range []string{"ok", "fail", "panic", "reject", "requeue", "self"} {
		if err := p.Publish(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int64
	attempts := map[string]*atomic.Int64{}
	for _, k := range []string{"ok", "fail", "panic", "reject", "requeue", "self"} {
		attempts[k] = new(atomic.Int64)
	}
	var order []string
	logMW := func(next conn.Handler) conn.Handler {
		return conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
			calls.Add(1)
			return next.Handle(ctx, d)
		})
	}
	tagMW := func(next conn.Handler) conn.Handler {
		return conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
			if calls.Load() == 0 {
				order = append(order, "outer-first-violated")
			}
			return next.Handle(ctx, d)
		})
	}
	sctx, stop := context.WithCancel(ctx)
	h := conn.Chain(conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
		var s string
		if err := d.Decode(&s); err != nil {
			return err
		}
		n := attempts[s].Add(1)
		switch s {
		case "fail":
			return errors.New("boom") // requeued once, then rejected
		case "panic":
			panic("kaboom")
		case "reject":
			return conn.Reject(errors.New("bad"))
		case "requeue":
			if n < 3 {
				return conn.Requeue(errors.New("again")) // even when redelivered
			}
		case "self":
			return d.Ack(ctx)
		}
		return nil
	}), logMW, tagMW)
	done := make(chan error, 1)
	go func() { done <- c.Serve(sctx, []route.Queue{q}, h, conn.WithConcurrency(3)) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := b.QueueStats("serve.dead")
		q, _ := b.QueueStats("serve")
		if st.Messages == 3 && q.Messages == 0 && q.Unacked == 0 && attempts["requeue"].Load() == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead %+v queue %+v", st, q)
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	want := map[string]int64{"ok": 1, "fail": 2, "panic": 2, "reject": 1, "requeue": 3, "self": 1}
	for k, n := range want {
		if got := attempts[k].Load(); got != n {
			t.Errorf("%s handled %d times, want %d", k, got, n)
		}
	}
	if len(order) != 0 || calls.Load() != 10 {
		t.Errorf("middleware: %v, %d calls", order, calls.Load())
	}
}

func TestServeErrors(t *testing.T) {
	_, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Serve(ctx, conn.QueueNames("x"), nil); !errors.Is(err, conn.ErrInvalidOption) {
		t.Fatalf("nil handler: %v", err)
	}
	h := conn.HandlerFunc(func(context.Context, *conn.Delivery) error { return nil })
	if err := c.Serve(ctx, conn.QueueNames("missing"), h); !errors.Is(err, conn.ErrNotFound) {
		t.Fatalf("missing queue: %v", err)
	}
}

func TestDrainSettlesInFlightThenRequeues(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("drain")); err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("drain"))
	for i := range 10 {
		if err := p.Publish(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := c.Consume(ctx, conn.QueueNames("drain"), conn.WithPrefetch(4))
	if err != nil {
		t.Fatal(err)
	}
	held := next(t, cons)
	drained := make(chan error, 1)
	go func() { drained <- cons.Drain(ctx) }()
	// Everything still on its way is handed out; C then closes.
	got := 1
	for d := range cons.C() {
		got++
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v while a delivery was unsettled", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := held.Ack(ctx); err != nil {
		t.Fatalf("settling during Drain: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	<-cons.Done()
	if st, _ := b.QueueStats("drain"); st.Messages != 10-got || st.Unacked != 0 || st.Consumers != 0 {
		t.Fatalf("after drain: %+v (handled %d)", st, got)
	}
}

func TestDrainDeadlineRequeuesTheRest(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	cons, err := c.Consume(ctx, []route.Queue{route.NewQueue("drain2")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Producer().Publish(ctx, "x", conn.WithRoutingKey("drain2")); err != nil {
		t.Fatal(err)
	}
	held := next(t, cons)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := cons.Drain(short); !errors.Is(err, conn.ErrTimeout) {
		t.Fatalf("Drain past its deadline: %v", err)
	}
	if err := held.Ack(ctx); !errors.Is(err, conn.ErrStaleDelivery) {
		t.Fatalf("Ack after the drain gave up: %v", err)
	}
	if st, _ := b.QueueStats("drain2"); st.Messages != 1 || st.Unacked != 0 {
		t.Fatalf("not requeued: %+v", st)
	}
}

func TestCloseDrainsConsumersAndWaitsForConfirms(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	cons, err := c.Consume(ctx, []route.Queue{route.NewQueue("closing")}, conn.WithPrefetch(2))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("closing"))
	for i := range 3 {
		if err := p.Publish(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	held := next(t, cons)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ctx) }()
	if _, err := c.WaitState(ctx, conn.StateClosing, conn.StateClosed); err != nil {
		t.Fatal(err)
	}
	acked := 1
	for d := range cons.C() {
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	if err := held.Ack(ctx); err != nil {
		t.Fatalf("settling while closing: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, "late"); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("publish after Close: %v", err)
	}
	if st, _ := b.QueueStats("closing"); st.Unacked != 0 || st.Messages+acked != 3 {
		t.Fatalf("after Close: %+v, %d acked", st, acked)
	}
}
