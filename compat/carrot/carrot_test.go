package carrot_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kelpmq/kelp/compat/carrot"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// env is one test's broker: a connection, its URL, and fresh names.
type env struct {
	c        *conn.Connection
	url      string
	queue    string
	exchange string
}

// forEach runs f on every broker; the test's queue and exchange are
// deleted afterwards.
func forEach(t *testing.T, f func(t *testing.T, e env)) {
	for _, b := range brokers {
		t.Run(b.Name, func(t *testing.T) {
			tg := b.Open(t)
			id := rand.Text()[:10]
			e := env{c: tg.Dial(t), url: tg.URL(), queue: "carrot-q-" + id, exchange: "carrot-x-" + id}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, _ = e.c.QueueDelete(ctx, e.queue, conn.QueueDeleteOptions{})
				_ = e.c.ExchangeDelete(ctx, e.exchange, false)
			})
			f(t, e)
		})
	}
}

// pair returns a publisher and a consumer bound to e's names with
// routing key "rk".
func pair(t *testing.T, e env, ccfg carrot.ConsumerConfig) (*carrot.Publisher, *carrot.Consumer) {
	t.Helper()
	ctx := testCtx(t)
	p, err := carrot.NewPublisher(ctx, e.c, carrot.PublisherConfig{Exchange: e.exchange, RoutingKey: "rk"})
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Queue, ccfg.Exchange, ccfg.RoutingKey = e.queue, e.exchange, "rk"
	c, err := carrot.NewConsumer(ctx, e.c, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

func send(t *testing.T, p *carrot.Publisher, vs ...any) {
	t.Helper()
	for _, v := range vs {
		if err := p.Send(testCtx(t), v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSendFetch(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := testCtx(t)
		p, c := pair(t, e, carrot.ConsumerConfig{})
		if ex := p.Exchange(); !ex.Durable || ex.Kind != route.Direct || ex.Name != e.exchange {
			t.Fatalf("exchange %+v, want carrot's durable direct", ex)
		}
		send(t, p, map[string]any{"n": 1}, "text")
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.Payload()
		if err != nil || !reflect.DeepEqual(v, map[string]any{"n": json.Number("1")}) {
			t.Fatalf("Payload = %v, %v", v, err)
		}
		if m.ContentType != "application/json" || m.DeliveryMode != route.Persistent || m.Info.RoutingKey != "rk" {
			t.Fatalf("message %+v, want carrot's JSON, persistent", m.Properties)
		}
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.Ack(ctx); !errors.Is(err, conn.ErrAlreadySettled) {
			t.Fatalf("second Ack = %v, want ErrAlreadySettled", err)
		}
		m, err = c.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := m.Payload(); v != "text" || m.ContentType != "application/json" {
			t.Fatalf("string sent as %q %v, want JSON (carrot's serializer)", m.ContentType, v)
		}
		if err := m.Requeue(ctx); err != nil {
			t.Fatal(err)
		}
		if m, err = c.Fetch(ctx); err != nil || !m.Info.Redelivered {
			t.Fatalf("Fetch after Requeue = %v", err)
		}
		if err := m.Reject(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Fetch(ctx); !errors.Is(err, carrot.ErrEmpty) || !errors.Is(err, conn.ErrEmpty) {
			t.Fatalf("Fetch on empty = %v, want ErrEmpty", err)
		}
		send(t, p, 1, 2)
		if n, err := c.DiscardAll(ctx); n != 2 || err != nil {
			t.Fatalf("DiscardAll = %d, %v; want 2", n, err)
		}
	})
}

// TestCarrotWire publishes what carrot put on the wire (content type,
// encoding, delivery mode, priority, no headers) through a bare
// transport connection: kelp's consumer decodes it unchanged.
func TestCarrotWire(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := testCtx(t)
		_, c := pair(t, e, carrot.ConsumerConfig{})
		cn, err := transports.OpenConnector(e.url)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := cn.Connect(ctx, transports.ConnectOptions{Name: "carrot"})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close(context.Background())
		ch, err := tc.Channel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Wait for the broker's confirmations, so that the messages are in
		// the queue before IterQueue's basic.get looks (a publish returns
		// once the driver took it).
		var confirms <-chan transports.Confirmation
		if cf, ok := ch.(transports.Confirmer); ok {
			if confirms, err = cf.Confirm(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []transports.Properties{
			{ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: 2},
			{ContentType: "application/data", ContentEncoding: "binary", DeliveryMode: 1},
		} {
			body := `{"hello": "world", "n": [1, 2]}`
			if m.ContentType == "application/data" {
				body = "\x00raw\xff"
			}
			_, err := ch.Publish(ctx, transports.Publishing{Exchange: e.exchange, RoutingKey: "rk",
				Message: transports.Message{Body: []byte(body), Properties: m}})
			if err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if confirms == nil {
				break
			}
			select {
			case cf := <-confirms:
				if !cf.Ack {
					t.Fatalf("publish nacked: %+v", cf)
				}
			case <-ctx.Done():
				t.Fatal("no confirmation")
			}
		}
		want := []any{map[string]any{"hello": "world", "n": []any{json.Number("1"), json.Number("2")}}, []byte("\x00raw\xff")}
		i := 0
		for m, err := range c.IterQueue(ctx, 0, false) {
			if err != nil {
				t.Fatal(err)
			}
			v, err := m.Payload()
			if err != nil || i >= len(want) || !reflect.DeepEqual(v, want[i]) {
				t.Fatalf("message %d: Payload = %#v, %v", i, v, err)
			}
			_ = m.Ack(ctx)
			i++
		}
		if i != 2 {
			t.Fatalf("IterQueue yielded %d, want 2", i)
		}
	})
}

func TestWaitCallbacks(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := testCtx(t)
		p, c := pair(t, e, carrot.ConsumerConfig{Prefetch: 2})
		if err := c.Wait(ctx, 1); !errors.Is(err, carrot.ErrNoCallbacks) {
			t.Fatalf("Wait without callbacks = %v", err)
		}
		var got []any
		c.RegisterCallback(func(ctx context.Context, data any, m *carrot.Message) {
			got = append(got, data)
		})
		c.RegisterCallback(func(ctx context.Context, data any, m *carrot.Message) {
			if err := m.Ack(ctx); err != nil {
				t.Error(err)
			}
		})
		send(t, p, "a", "b", "c")
		if err := c.Wait(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []any{"a", "b", "c"}) {
			t.Fatalf("callbacks saw %v", got)
		}
		// IterConsume yields after the callbacks; breaking stops it.
		send(t, p, "d", "e")
		for m, err := range c.IterConsume(ctx, 0) {
			if err != nil {
				t.Fatal(err)
			}
			if !m.Settled() {
				t.Fatal("yielded before the callbacks ran")
			}
			break
		}
		if err := c.Wait(ctx, 1); err != nil || got[len(got)-1] != "e" {
			t.Fatalf("Wait = %v, got %v", err, got)
		}
		// A body that does not decode: Wait rejects it and says why.
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := p.Send(ctx, []byte("{broken"), conn.WithContentType("application/json", "utf-8")); err != nil {
			t.Fatal(err)
		}
		if err := c.Wait(ctx, 1); !errors.Is(err, conn.ErrDecode) {
			t.Fatalf("Wait on a broken body = %v, want ErrDecode", err)
		}
		if err := c.Wait(cctx, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait until ctx ends = %v (the broken message came back?)", err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"Wait":       c.Wait(ctx, 1),
			"Fetch":      func() error { _, err := c.Fetch(ctx); return err }(),
			"DiscardAll": func() error { _, err := c.DiscardAll(ctx); return err }(),
		} {
			if !errors.Is(err, carrot.ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", name, err)
			}
		}
	})
}

func TestIterQueueInfinite(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := testCtx(t)
		p, c := pair(t, e, carrot.ConsumerConfig{NoAck: true, PollInterval: 5 * time.Millisecond})
		send(t, p, "x", "y")
		n := 0
		for m, err := range c.IterQueue(ctx, 1, true) {
			if err != nil || !m.Settled() {
				t.Fatalf("IterQueue: %v, settled %v (no-ack)", err, m.Settled())
			}
			n++
		}
		if n != 1 {
			t.Fatalf("limit 1 yielded %d", n)
		}
		// Then it polls, and yields ctx's error when ctx ends.
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		var errs []error
		for m, err := range c.IterQueue(wctx, 0, true) {
			if err != nil {
				errs = append(errs, err)
			} else if v, _ := m.Payload(); v != "y" {
				t.Fatalf("got %v", v)
			}
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
			t.Fatalf("errors %v, want one DeadlineExceeded", errs)
		}
	})
}

func TestConfig(t *testing.T) {
	e := env{c: brokers[0].Open(t).Dial(t)}
	ctx := testCtx(t)
	for name, err := range map[string]error{
		"publisher nil conn": func() error { _, err := carrot.NewPublisher(ctx, nil, carrot.PublisherConfig{}); return err }(),
		"publisher bad kind": func() error {
			_, err := carrot.NewPublisher(ctx, e.c, carrot.PublisherConfig{Exchange: "x", ExchangeType: "nope"})
			return err
		}(),
		"publisher bad mode": func() error {
			_, err := carrot.NewPublisher(ctx, e.c, carrot.PublisherConfig{DeliveryMode: 9})
			return err
		}(),
		"consumer nil conn": func() error { _, err := carrot.NewConsumer(ctx, nil, carrot.ConsumerConfig{Queue: "q"}); return err }(),
		"consumer no queue": func() error { _, err := carrot.NewConsumer(ctx, e.c, carrot.ConsumerConfig{}); return err }(),
		"consumer prefetch": func() error {
			_, err := carrot.NewConsumer(ctx, e.c, carrot.ConsumerConfig{Queue: "q", Prefetch: -1})
			return err
		}(),
	} {
		if !errors.Is(err, carrot.ErrInvalidConfig) || !errors.Is(err, conn.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
	// Carrot's defaults and their negations.
	c, err := carrot.NewConsumer(ctx, e.c, carrot.ConsumerConfig{Queue: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if q := c.Queue(); !q.Durable || len(q.Bindings) != 0 {
		t.Fatalf("queue %+v, want durable without binding", q)
	}
	c, err = carrot.NewConsumer(ctx, e.c, carrot.ConsumerConfig{Queue: "tmp", Exchange: "tx", ExchangeType: route.Topic,
		NonDurable: true, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if q := c.Queue(); q.Durable || !q.Exclusive || q.Bindings[0].Exchange.Kind != route.Topic || q.Bindings[0].Exchange.Durable {
		t.Fatalf("queue %+v", q)
	}
}
