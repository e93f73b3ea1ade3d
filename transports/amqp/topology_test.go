package amqp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// wantChannelClosedBy checks the SPI rule for a channel-level broker error:
// the call fails with the code, the channel closes with an Err matching
// ErrChannelClosed and the code, later calls fail, the conn lives on.
func wantChannelClosedBy(t *testing.T, ctx context.Context, c transports.Conn, ch transports.Channel, err error, code *transports.Error, what string) {
	t.Helper()
	wantErr(t, err, what, code)
	select {
	case <-ch.Done():
	default:
		t.Fatalf("%s: the call returned but Done is not closed", what)
	}
	wantErr(t, ch.Err(), what+": Channel.Err", transports.ErrChannelClosed, code)
	wantErr(t, ch.Qos(ctx, transports.Qos{}), what+": a later call", transports.ErrChannelClosed, code)
	if c.Err() != nil {
		t.Fatalf("%s: the conn died too: %v", what, c.Err())
	}
}

func TestExchanges(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	c, ch := open(t, ctx)
	for _, k := range []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers, ""} {
		declareExchange(t, ctx, ch, route.Exchange{Name: unique("ex-" + string(k)), Kind: k, AutoDelete: k == route.Fanout})
	}
	name := unique("ex")
	declareExchange(t, ctx, ch, route.Exchange{Name: name, Kind: route.Topic, Durable: true})
	if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: name, Kind: route.Topic, Durable: true, Passive: true}); err != nil {
		t.Fatalf("passive declare of an existing exchange: %v", err)
	}

	err := ch.ExchangeDeclare(ctx, route.Exchange{Name: name, Kind: "bogus"})
	wantErr(t, err, "unknown kind", transports.ErrUnsupported, errors.ErrUnsupported)
	if ch.Err() != nil {
		t.Fatalf("a refused kind closed the channel: %v", ch.Err())
	}

	err = ch.ExchangeDeclare(ctx, route.Exchange{Name: name, Kind: route.Fanout, Durable: true})
	wantChannelClosedBy(t, ctx, c, ch, err, transports.ErrPreconditionFailed, "redeclare with another kind")

	ch2, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = ch2.ExchangeDeclare(ctx, route.Exchange{Name: unique("missing"), Kind: route.Direct, Passive: true})
	wantChannelClosedBy(t, ctx, c, ch2, err, transports.ErrNotFound, "passive declare of a missing exchange")

	ch3, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch3.ExchangeDelete(ctx, name, false); err != nil {
		t.Fatalf("ExchangeDelete: %v", err)
	}
	if err := ch3.ExchangeDelete(ctx, name, false); err != nil {
		t.Fatalf("deleting a missing exchange: %v", err)
	}
}

func TestQueues(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	c, ch := open(t, ctx)

	// Server-named.
	info, err := ch.QueueDeclare(ctx, route.Queue{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name == "" || info.Messages != 0 || info.Consumers != 0 {
		t.Fatalf("server-named queue: %+v", info)
	}

	// Every argument reaches the broker: redeclaring with one changed
	// fails with 406, redeclaring with all equal succeeds.
	q := route.Queue{
		Name: unique("args"), Durable: true,
		MessageTTL: time.Minute, Expires: time.Hour, MaxLength: 100, MaxLengthBytes: 1 << 20,
		MaxPriority: 5, DeadLetterExchange: "dlx", DeadLetterRoutingKey: "dead",
		Overflow: route.OverflowRejectPublish, Type: route.QueueClassic,
		Arguments: route.Table{"x-queue-mode": "lazy"},
	}
	declareQueue(t, ctx, ch, q)
	if _, err := ch.QueueDeclare(ctx, q); err != nil {
		t.Fatalf("redeclaring the same queue: %v", err)
	}
	for name, change := range map[string]func(*route.Queue){
		"MessageTTL":           func(q *route.Queue) { q.MessageTTL = 2 * time.Minute },
		"Expires":              func(q *route.Queue) { q.Expires = 2 * time.Hour },
		"MaxLength":            func(q *route.Queue) { q.MaxLength = 7 },
		"MaxLengthBytes":       func(q *route.Queue) { q.MaxLengthBytes = 7 },
		"MaxPriority":          func(q *route.Queue) { q.MaxPriority = 7 },
		"DeadLetterExchange":   func(q *route.Queue) { q.DeadLetterExchange = "other" },
		"DeadLetterRoutingKey": func(q *route.Queue) { q.DeadLetterRoutingKey = "other" },
		"Overflow":             func(q *route.Queue) { q.Overflow = route.OverflowDropHead },
		"Durable":              func(q *route.Queue) { q.Durable = false },
	} {
		ch, err := c.Channel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q2 := q.Clone()
		change(&q2)
		_, err = ch.QueueDeclare(ctx, q2)
		wantChannelClosedBy(t, ctx, c, ch, err, transports.ErrPreconditionFailed, "redeclare with another "+name)
	}

	// Counts, purge, conditional delete.
	ch, err = c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plain := declareQueue(t, ctx, ch, route.Queue{Name: unique("plain")})
	for range 3 {
		if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: plain, Message: transports.Message{Body: []byte("m")}}); err != nil {
			t.Fatal(err)
		}
	}
	// RabbitMQ counts asynchronously: wait for the count.
	eventually(t, ctx, "3 messages counted", func() bool {
		info, err = ch.QueueDeclare(ctx, route.Queue{Name: plain, Passive: true})
		if err != nil || info.Name != plain {
			t.Fatalf("passive declare = %+v, %v", info, err)
		}
		return info.Messages == 3
	})
	n, err := ch.QueuePurge(ctx, plain)
	if err != nil || n != 3 {
		t.Fatalf("QueuePurge = %d, %v; want 3", n, err)
	}
	if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: plain, Message: transports.Message{Body: []byte("m")}}); err != nil {
		t.Fatal(err)
	}
	_, err = ch.QueueDelete(ctx, plain, transports.QueueDeleteOptions{IfEmpty: true})
	wantChannelClosedBy(t, ctx, c, ch, err, transports.ErrPreconditionFailed, "delete if-empty of a queue with a message")

	ch, err = c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: plain, NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	<-sub.Deliveries()
	_, err = ch.QueueDelete(ctx, plain, transports.QueueDeleteOptions{IfUnused: true})
	wantChannelClosedBy(t, ctx, c, ch, err, transports.ErrPreconditionFailed, "delete if-unused of a queue with a consumer")
	if _, ok := <-sub.Deliveries(); ok || !errors.Is(sub.Err(), transports.ErrChannelClosed) {
		t.Fatalf("consumer of the closed channel: Err %v", sub.Err())
	}

	ch, err = c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ch.QueueDelete(ctx, plain, transports.QueueDeleteOptions{IfUnused: true, IfEmpty: true}); err != nil || n != 0 {
		t.Fatalf("QueueDelete = %d, %v", n, err)
	}
	if n, err := ch.QueueDelete(ctx, plain, transports.QueueDeleteOptions{}); err != nil || n != 0 {
		t.Fatalf("deleting a missing queue = %d, %v; want 0, nil", n, err)
	}
	_, err = ch.QueueDeclare(ctx, route.Queue{Name: plain, Passive: true})
	wantChannelClosedBy(t, ctx, c, ch, err, transports.ErrNotFound, "passive declare of a deleted queue")
}

func TestBindings(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	_, ch := open(t, ctx)
	topic, fanout, headers := unique("topic"), unique("fanout"), unique("headers")
	declareExchange(t, ctx, ch, route.Exchange{Name: topic, Kind: route.Topic})
	declareExchange(t, ctx, ch, route.Exchange{Name: fanout, Kind: route.Fanout})
	declareExchange(t, ctx, ch, route.Exchange{Name: headers, Kind: route.Headers})
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q")})

	if err := ch.QueueBind(ctx, q, topic, "a.#", nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(ctx, q, headers, "", route.Table{"x-match": "all", "k": "v", "n": 1}); err != nil {
		t.Fatal(err)
	}
	eb := ch.(transports.ExchangeBinder)
	if err := eb.ExchangeBind(ctx, topic, fanout, "", nil); err != nil {
		t.Fatal(err)
	}
	send := func(ex, key string, h route.Table, body string) {
		t.Helper()
		if _, err := ch.Publish(ctx, transports.Publishing{Exchange: ex, RoutingKey: key, Message: transports.Message{Body: []byte(body), Headers: h}}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want ...string) {
		t.Helper()
		var got []string
		for {
			d, ok, err := ch.Get(ctx, q, true)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, string(d.Body))
		}
		if len(got) != len(want) {
			t.Fatalf("queue holds %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("queue holds %q, want %q", got, want)
			}
		}
	}
	send(topic, "a", nil, "a")
	send(topic, "a.b.c", nil, "abc")
	send(topic, "b.a", nil, "no")
	send(fanout, "a.x", nil, "via-e2e") // fanout → topic (a.#) → queue
	send(headers, "", route.Table{"k": "v", "n": int64(1)}, "hdr")
	send(headers, "", route.Table{"k": "v"}, "no")
	expect("a", "abc", "via-e2e", "hdr")

	if err := eb.ExchangeUnbind(ctx, topic, fanout, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueUnbind(ctx, q, topic, "a.#", nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueUnbind(ctx, q, topic, "never.bound", nil); err != nil {
		t.Fatalf("removing a missing binding: %v", err)
	}
	send(topic, "a", nil, "no")
	send(fanout, "a", nil, "no")
	expect()
}
