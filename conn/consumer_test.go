package conn_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

func TestConsumeManyQueues(t *testing.T) {
	for _, channels := range []int{1, 3} {
		t.Run(fmt.Sprint("channels=", channels), func(t *testing.T) {
			b, c := open(t, conn.Config{})
			ctx := testCtx(t)
			qs := []route.Queue{route.NewQueue("a"), route.NewQueue("b"), route.NewQueue("c")}
			cons, err := c.Consume(ctx, qs, conn.WithChannels(channels), conn.WithTagPrefix("t-"))
			if err != nil {
				t.Fatal(err)
			}
			p := c.Producer()
			for _, q := range qs {
				for i := range 3 {
					if err := p.Publish(ctx, i, conn.WithRoutingKey(q.Name)); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := map[string]int{}
			for range 9 {
				d := next(t, cons)
				var n int
				if err := d.Decode(&n); err != nil {
					t.Fatal(err)
				}
				if d.Info.ConsumerTag[:2] != "t-" {
					t.Errorf("consumer tag %q", d.Info.ConsumerTag)
				}
				got[d.Info.Queue]++
				if err := d.Ack(ctx); err != nil {
					t.Fatal(err)
				}
				if err := d.Ack(ctx); !errors.Is(err, conn.ErrAlreadySettled) {
					t.Fatalf("second Ack = %v", err)
				}
				if err := d.Reject(ctx); !errors.Is(err, conn.ErrAlreadySettled) {
					t.Fatalf("Reject after Ack = %v", err)
				}
			}
			if got["a"] != 3 || got["b"] != 3 || got["c"] != 3 {
				t.Fatalf("got %v", got)
			}
			cons.Stop()
			if _, ok := <-cons.C(); ok {
				t.Fatal("C not closed after Stop")
			}
			if _, err := cons.Next(ctx); !errors.Is(err, conn.ErrClosed) {
				t.Fatalf("Next after Stop = %v", err)
			}
			for _, q := range qs {
				if st, _ := b.QueueStats(q.Name); st.Messages != 0 || st.Unacked != 0 || st.Consumers != 0 {
					t.Fatalf("%s: %+v", q.Name, st)
				}
			}
		})
	}
}

func TestConsumeErrors(t *testing.T) {
	_, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if _, err := c.Consume(ctx, conn.QueueNames("missing")); !errors.Is(err, conn.ErrNotFound) {
		t.Fatalf("missing queue: %v", err)
	}
	if _, err := c.Consume(ctx, nil); !errors.Is(err, conn.ErrInvalidOption) {
		t.Fatalf("no queues: %v", err)
	}
	if _, err := c.Consume(ctx, conn.QueueNames("x"), conn.WithPrefetch(0)); !errors.Is(err, conn.ErrInvalidOption) {
		t.Fatalf("bad option: %v", err)
	}
	if _, err := c.Consume(ctx, conn.QueueNames("x"), conn.WithAccept("nope")); !errors.Is(err, conn.ErrInvalidOption) {
		t.Fatalf("bad accept: %v", err)
	}
	q := route.NewQueue("excl")
	first, err := c.Consume(ctx, []route.Queue{q}, conn.WithExclusive())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()
	_, err = c.Consume(ctx, []route.Queue{q})
	if !errors.Is(err, conn.ErrAccessRefused) && !errors.Is(err, transports.ErrResourceLocked) {
		t.Fatalf("second consumer of an exclusive queue: %v", err)
	}
}

func TestSettleRequeueReject(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	q := route.NewQueue("settle")
	cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithPrefetch(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	if err := c.Producer().Publish(ctx, "m", conn.WithRoutingKey("settle")); err != nil {
		t.Fatal(err)
	}
	d := next(t, cons)
	if d.Info.Redelivered {
		t.Fatal("first delivery marked redelivered")
	}
	if err := d.Requeue(ctx); err != nil {
		t.Fatal(err)
	}
	d = next(t, cons)
	if !d.Info.Redelivered {
		t.Fatal("requeued delivery not marked redelivered")
	}
	if err := d.Nack(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := d.Nack(ctx, true); !errors.Is(err, conn.ErrAlreadySettled) {
		t.Fatalf("second Nack = %v", err)
	}
	if st, _ := b.QueueStats("settle"); st.Messages != 0 || st.Unacked != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPrefetchBoundsDeliveries(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("pf")); err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("pf"))
	for i := range 20 {
		if err := p.Publish(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := c.Consume(ctx, conn.QueueNames("pf"), conn.WithPrefetch(3))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	d := next(t, cons) // the user holds one and reads no more
	// The broker never has more than the prefetch unsettled outstanding,
	// however long the user waits.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		if st, _ := b.QueueStats("pf"); st.Unacked > 3 {
			t.Fatalf("unacked %d > prefetch 3", st.Unacked)
		}
		time.Sleep(time.Millisecond)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	for range 19 {
		d := next(t, cons)
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDisallowedContentIsRejected(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	dlx := route.NewExchange("dlx", route.Fanout)
	dead := route.NewQueue("dead", route.Bind(dlx, ""))
	q := route.Queue{Name: "strict", Durable: true, DeadLetterExchange: "dlx"}
	if err := c.Declare(ctx, dlx, dead, q); err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("strict"))
	if err := p.Publish(ctx, map[string]int{"a": 1}, conn.WithSerializer("msgpack")); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, map[string]int{"a": 2}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithAccept("json"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	d := next(t, cons)
	var v map[string]int
	if err := d.Decode(&v); err != nil || v["a"] != 2 {
		t.Fatalf("first accepted delivery: %q %v", d.Body, err)
	}
	_ = d.Ack(ctx)
	// The msgpack message was rejected into the dead-letter queue.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := b.QueueStats("dead")
		if st.Messages == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-letter queue: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
	// Get hands it out, and Decode refuses it with the accept list.
	g, err := c.Get(ctx, "dead", conn.WithAccept("json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Decode(&v); !errors.Is(err, conn.ErrContentDisallowed) {
		t.Fatalf("Decode of msgpack with accept json: %v", err)
	}
	if err := g.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptCompressionIsRejected(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("corrupt")); err != nil {
		t.Fatal(err)
	}
	// Publish a body that claims zlib compression but is not.
	p := c.Producer(conn.WithRoutingKey("corrupt"))
	if err := publishRaw(ctx, t, b, "corrupt", []byte("garbage"), route.Table{"compression": "application/x-gzip"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	g, err := c.Get(ctx, "corrupt")
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := g.Decode(&s); !errors.Is(err, conn.ErrDecode) {
		t.Fatalf("Decode of a corrupt body: %v", err)
	}
	if err := g.Requeue(ctx); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, conn.QueueNames("corrupt"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	d := next(t, cons)
	if err := d.Decode(&s); err != nil || s != "good" {
		t.Fatalf("got %q, %v", s, err)
	}
	_ = d.Ack(ctx)
}

func TestGet(t *testing.T) {
	_, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("g")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "g"); !errors.Is(err, conn.ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := c.Get(ctx, "nope"); !errors.Is(err, conn.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	p := c.Producer(conn.WithRoutingKey("g"))
	for i := range 2 {
		if err := p.Publish(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.Get(ctx, "g")
	if err != nil || d.Info.MessageCount != 1 {
		t.Fatalf("Get = %+v, %v", d.Info, err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	d, err = c.Get(ctx, "g", conn.WithNoAck())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx); err != nil || !d.Settled() {
		t.Fatalf("no-ack settle: %v", err)
	}
	if n, err := c.QueuePurge(ctx, "g"); err != nil || n != 0 {
		t.Fatalf("purge = %d, %v", n, err)
	}
}

func TestServerNamedQueueFollowsReconnect(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	ex := route.NewExchange("fan", route.Fanout)
	q := route.Queue{Exclusive: true, Bindings: []route.Binding{route.Bind(ex, "")}}
	cons, err := c.Consume(ctx, []route.Queue{q})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	p := c.Producer(conn.WithExchange("fan"))
	if err := p.Publish(ctx, 1); err != nil {
		t.Fatal(err)
	}
	d := next(t, cons)
	first := d.Info.Queue
	_ = d.Ack(ctx)
	b.DropConnections("")
	waitEpoch(t, c, 2)
	if b.HasQueue(first) {
		t.Fatal("exclusive queue survived its connection")
	}
	if err := p.Publish(ctx, 2); err != nil {
		t.Fatal(err)
	}
	d = next(t, cons)
	if d.Info.Queue == first || d.Info.Queue == "" || d.Info.Epoch != 2 {
		t.Fatalf("after reconnect: %+v (first queue %q)", d.Info, first)
	}
	_ = d.Ack(ctx)
}

func TestBrokerCancelResubscribes(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	cons, err := c.Consume(ctx, []route.Queue{route.NewQueue("cancelme")})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	if n := b.CancelConsumers("cancelme"); n != 1 {
		t.Fatalf("cancelled %d consumers", n)
	}
	if err := c.Producer().Publish(ctx, "after", conn.WithRoutingKey("cancelme")); err != nil {
		t.Fatal(err)
	}
	d := next(t, cons)
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

var _ = context.Background

// A consumer with no accept list refuses what kelp never decodes (pickle,
// yaml): such messages are rejected (here into a dead-letter queue), never
// handed out, and the messages behind them still arrive.
func TestDefaultAcceptRejectsPickleAndYAML(t *testing.T) {
	_, c := open(t, conn.Config{})
	ctx := testCtx(t)
	dlx := route.NewExchange("dlx-default", route.Fanout)
	dead := route.NewQueue("dead-default", route.Bind(dlx, ""))
	q := route.Queue{Name: "lenient", Durable: true, DeadLetterExchange: "dlx-default"}
	if err := c.Declare(ctx, dlx, dead, q); err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("lenient"))
	for _, ct := range []string{"application/x-python-serialize", "application/x-yaml"} {
		if err := p.Publish(ctx, []byte("cos\nsystem\n(S'true'\ntR."), conn.WithContentType(ct, "binary")); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Publish(ctx, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, []route.Queue{q})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	d := next(t, cons)
	if d.ContentType != "application/json" {
		t.Fatalf("first delivery with the default accept list is %s, want the json message", d.ContentType)
	}
	_ = d.Ack(ctx)

	// Both refused messages are in the dead-letter queue, in order; a
	// consumer that names them explicitly gets them, and Decode still says no.
	deadCons, err := c.Consume(ctx, []route.Queue{dead}, conn.WithAccept("pickle", "yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer deadCons.Stop()
	for _, want := range []string{"application/x-python-serialize", "application/x-yaml"} {
		d := next(t, deadCons)
		var v any
		if d.ContentType != want || !errors.Is(d.Decode(&v), conn.ErrContentDisallowed) {
			t.Fatalf("dead-lettered %s (want %s), Decode: %v", d.ContentType, want, d.Decode(&v))
		}
		_ = d.Ack(ctx)
	}
}

// Config.MaxMessageSize bounds bodies both ways: Publish refuses a larger
// one before sending it, and a consumer rejects (dead-letters) a larger
// delivery and goes on with the next message.
func TestMaxMessageSize(t *testing.T) {
	b, big := open(t, conn.Config{})
	ctx := testCtx(t)
	small, err := conn.Open(ctx, b.Connector(), conn.Config{MaxMessageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close(ctx)
	dlx := route.NewExchange("dlx-size", route.Fanout)
	dead := route.NewQueue("dead-size", route.Bind(dlx, ""))
	q := route.Queue{Name: "sized", Durable: true, DeadLetterExchange: "dlx-size"}
	if err := big.Declare(ctx, dlx, dead, q); err != nil {
		t.Fatal(err)
	}

	err = small.Producer(conn.WithRoutingKey("sized")).Publish(ctx, make([]byte, 101))
	if !errors.Is(err, conn.ErrMessageTooLarge) {
		t.Fatalf("publishing 101 bytes with a 100-byte limit: %v, want ErrMessageTooLarge", err)
	}
	if st, _ := b.QueueStats("sized"); st.Messages != 0 {
		t.Fatalf("the refused publish reached the queue: %+v", st)
	}

	p := big.Producer(conn.WithRoutingKey("sized"))
	if err := p.Publish(ctx, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, []byte("small")); err != nil {
		t.Fatal(err)
	}
	cons, err := small.Consume(ctx, []route.Queue{q})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	d := next(t, cons)
	if string(d.Body) != "small" {
		t.Fatalf("first delivery under a 100-byte limit has %d bytes, want the small message", len(d.Body))
	}
	_ = d.Ack(ctx)
	deadCons, err := big.Consume(ctx, []route.Queue{dead})
	if err != nil {
		t.Fatal(err)
	}
	defer deadCons.Stop()
	if d := next(t, deadCons); len(d.Body) != 1000 {
		t.Fatalf("dead-lettered %d bytes, want the 1000-byte message", len(d.Body))
	} else {
		_ = d.Ack(ctx)
	}
	var cfg conn.Config
	cfg.MaxMessageSize = -1
	if err := cfg.Validate(); err == nil {
		t.Fatal("a negative MaxMessageSize validated")
	}
}
