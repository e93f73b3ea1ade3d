package memory_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// code returns the AMQP reply code inside err, or 0.
func code(err error) int {
	var be *transports.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return 0
}

func TestPassiveDeclareMissing(t *testing.T) {
	for _, kind := range []string{"queue", "exchange"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			var err error
			if kind == "queue" {
				_, err = e.ch.QueueDeclare(e.ctx, route.Queue{Name: "nope", Passive: true})
			} else {
				err = e.ch.ExchangeDeclare(e.ctx, route.Exchange{Name: "nope", Kind: route.Direct, Passive: true})
			}
			if code(err) != 404 || !strings.Contains(err.Error(), "no "+kind+" 'nope' in vhost '/'") {
				t.Fatalf("err = %v, want RabbitMQ's 404", err)
			}
			<-e.ch.Done()
			if !errors.Is(e.ch.Err(), transports.ErrChannelClosed) || !errors.Is(e.ch.Err(), transports.ErrNotFound) {
				t.Fatalf("channel Err = %v", e.ch.Err())
			}
		})
	}
}

func TestRedeclareInequivalent(t *testing.T) {
	base := route.NewQueue("q")
	base.MessageTTL = time.Second
	base.Arguments = route.Table{"x-custom": "a"}
	tests := []struct {
		name   string
		change func(*route.Queue)
		arg    string // "" when equivalent
	}{
		{"same", func(*route.Queue) {}, ""},
		{"same ttl as an x-argument", func(q *route.Queue) {
			q.MessageTTL = 0
			q.Arguments = route.Table{"x-custom": "a", "x-message-ttl": 1000}
		}, ""},
		{"durable", func(q *route.Queue) { q.Durable = false }, "durable"},
		{"auto delete", func(q *route.Queue) { q.AutoDelete = true }, "auto_delete"},
		{"ttl", func(q *route.Queue) { q.MessageTTL = 2 * time.Second }, "x-message-ttl"},
		{"max length", func(q *route.Queue) { q.MaxLength = 3 }, "x-max-length"},
		{"other argument", func(q *route.Queue) { q.Arguments = route.Table{"x-custom": "b"} }, "x-custom"},
		{"passive ignores the definition", func(q *route.Queue) { q.Passive, q.Durable = true, false }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.declare(e.ch, base)
			q := base.Clone()
			tc.change(&q)
			_, err := e.ch.QueueDeclare(e.ctx, q)
			if tc.arg == "" {
				if err != nil {
					t.Fatalf("equivalent redeclare failed: %v", err)
				}
				return
			}
			if code(err) != 406 || !strings.Contains(err.Error(), "inequivalent arg '"+tc.arg+"'") {
				t.Fatalf("err = %v, want 406 inequivalent arg %q", err, tc.arg)
			}
		})
	}
}

func TestRedeclareExchangeInequivalent(t *testing.T) {
	e := newEnv(t)
	e.exchange(e.ch, "ex", route.Direct)
	if err := e.ch.ExchangeDeclare(e.ctx, route.NewExchange("ex", route.Direct)); err != nil {
		t.Fatalf("equivalent redeclare: %v", err)
	}
	err := e.ch.ExchangeDeclare(e.ctx, route.NewExchange("ex", route.Topic))
	if code(err) != 406 || !strings.Contains(err.Error(), "inequivalent arg 'type'") {
		t.Fatalf("err = %v", err)
	}
}

func TestReservedNames(t *testing.T) {
	e := newEnv(t)
	if err := e.ch.ExchangeDeclare(e.ctx, route.NewExchange("amq.topic", route.Topic)); err != nil {
		t.Fatalf("redeclaring amq.topic as it is: %v", err)
	}
	if err := e.ch.ExchangeDeclare(e.ctx, route.NewExchange("amq.mine", route.Topic)); code(err) != 403 {
		t.Fatalf("declaring amq.mine: %v, want 403", err)
	}
	ch := e.channel(e.conn)
	if err := ch.ExchangeDelete(e.ctx, "amq.direct", false); code(err) != 403 {
		t.Fatalf("deleting amq.direct: %v, want 403", err)
	}
}

func TestServerNamedQueue(t *testing.T) {
	e := newEnv(t)
	a := e.declare(e.ch, route.Queue{})
	b := e.declare(e.ch, route.Queue{})
	if !strings.HasPrefix(a, "amq.gen-") || a == b || len(a) < 20 {
		t.Fatalf("names %q and %q", a, b)
	}
	e.send(a, "x")
	if d := e.get(e.ch, a, true); string(d.Body) != "x" || d.Queue != a {
		t.Fatalf("delivery %+v", d)
	}
}

func TestExclusiveQueue(t *testing.T) {
	e := newEnv(t)
	q := route.NewQueue("excl")
	q.Exclusive = true
	e.declare(e.ch, q)
	other := e.dial("other")
	for name, op := range map[string]func(ch transports.Channel) error{
		"declare": func(ch transports.Channel) error { _, err := ch.QueueDeclare(e.ctx, q); return err },
		"passive": func(ch transports.Channel) error {
			_, err := ch.QueueDeclare(e.ctx, route.Queue{Name: "excl", Passive: true})
			return err
		},
		"consume": func(ch transports.Channel) error {
			_, err := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "excl"})
			return err
		},
		"get":   func(ch transports.Channel) error { _, _, err := ch.Get(e.ctx, "excl", true); return err },
		"purge": func(ch transports.Channel) error { _, err := ch.QueuePurge(e.ctx, "excl"); return err },
		"delete": func(ch transports.Channel) error {
			_, err := ch.QueueDelete(e.ctx, "excl", transports.QueueDeleteOptions{})
			return err
		},
		"bind": func(ch transports.Channel) error { return ch.QueueBind(e.ctx, "excl", "amq.direct", "k", nil) },
	} {
		if err := op(e.channel(other)); code(err) != 405 || !errors.Is(err, transports.ErrResourceLocked) {
			t.Errorf("%s from another connection: %v, want 405", name, err)
		}
	}
	// Publishing to it from another connection is allowed.
	if _, err := e.channel(other).Publish(e.ctx, transports.Publishing{RoutingKey: "excl"}); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.b.HasQueue("excl") {
		t.Fatal("exclusive queue outlived its connection")
	}
}

func TestExclusiveQueueDeletedWhenConnectionDrops(t *testing.T) {
	e := newEnv(t)
	owner := e.dial("owner")
	q := route.NewQueue("excl")
	q.Exclusive = true
	e.declare(e.channel(owner), q)
	if n := e.b.DropConnections("owner"); n != 1 {
		t.Fatalf("dropped %d connections", n)
	}
	if e.b.HasQueue("excl") {
		t.Fatal("exclusive queue outlived its dropped connection")
	}
	if e.conn.Err() != nil {
		t.Fatalf("the other connection died: %v", e.conn.Err())
	}
}

func TestAutoDeleteQueue(t *testing.T) {
	e := newEnv(t)
	q := route.NewQueue("ad")
	q.AutoDelete = true
	e.declare(e.ch, q)
	if !e.b.HasQueue("ad") {
		t.Fatal("an auto-delete queue that never had a consumer must stay")
	}
	s1, _ := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "ad"})
	s2, _ := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "ad"})
	if err := e.ch.Cancel(e.ctx, s1.Tag()); err != nil {
		t.Fatal(err)
	}
	if !e.b.HasQueue("ad") {
		t.Fatal("deleted while a consumer is left")
	}
	if err := e.ch.Cancel(e.ctx, s2.Tag()); err != nil {
		t.Fatal(err)
	}
	if e.b.HasQueue("ad") {
		t.Fatal("auto-delete queue survived its last consumer")
	}
}

func TestQueueDeleteConditions(t *testing.T) {
	e := newEnv(t)
	e.declare(e.ch, route.NewQueue("q"))
	e.send("q", "1")
	e.send("q", "2")
	if _, err := e.ch.QueueDelete(e.ctx, "q", transports.QueueDeleteOptions{IfEmpty: true}); code(err) != 406 {
		t.Fatalf("if-empty on a full queue: %v", err)
	}
	ch := e.channel(e.conn)
	s, err := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q", Tag: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	other := e.channel(e.conn)
	if _, err := other.QueueDelete(e.ctx, "q", transports.QueueDeleteOptions{IfUnused: true}); code(err) != 406 {
		t.Fatalf("if-unused with a consumer: %v", err)
	}
	e.next(s)
	e.next(s)
	e.send2(ch, "q", "3")
	third := e.channel(e.conn)
	n, err := third.QueueDelete(e.ctx, "q", transports.QueueDeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n > 1 {
		t.Fatalf("delete reported %d ready messages", n)
	}
	for range s.Deliveries() {
	}
	if !errors.Is(s.Err(), transports.ErrConsumerCancelled) {
		t.Fatalf("consumer of a deleted queue ended with %v", s.Err())
	}
	if n, err := third.QueueDelete(e.ctx, "q", transports.QueueDeleteOptions{}); n != 0 || err != nil {
		t.Fatalf("deleting a missing queue: %d, %v", n, err)
	}
}

// send2 publishes body to queue on ch.
func (e *env) send2(ch transports.Channel, queue, body string) {
	e.t.Helper()
	e.publish(ch, transports.Publishing{RoutingKey: queue, Message: transports.Message{Body: []byte(body)}})
}

func TestExclusiveConsumer(t *testing.T) {
	e := newEnv(t)
	e.declare(e.ch, route.NewQueue("q"))
	if _, err := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q", Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	ch := e.channel(e.conn)
	if _, err := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"}); code(err) != 403 {
		t.Fatalf("second consumer next to an exclusive one: %v, want 403", err)
	}
}

func TestDeclareCounts(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "a", "b", "c")
	e.get(e.ch, "q", false) // one unacked, not counted as ready
	e.declare(e.ch, route.NewQueue("idle"))
	if _, err := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "idle"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		queue              string
		messages, consumer int
	}{{"q", 2, 0}, {"idle", 0, 1}} {
		info, err := e.ch.QueueDeclare(e.ctx, route.Queue{Name: tc.queue, Passive: true})
		if err != nil || info.Messages != tc.messages || info.Consumers != tc.consumer {
			t.Fatalf("%s: info %+v, err %v", tc.queue, info, err)
		}
	}
	if n, err := e.ch.QueuePurge(e.ctx, "q"); err != nil || n != 2 {
		t.Fatalf("purge %d, %v; want 2 (the unacked one stays)", n, err)
	}
	if st := e.stats("q"); st.Messages != 0 || st.Unacked != 1 {
		t.Fatalf("after purge %+v", st)
	}
}

func TestReservedQueueName(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ch.QueueDeclare(e.ctx, route.NewQueue("amq.q")); code(err) != 403 {
		t.Fatalf("declaring amq.q: %v, want 403", err)
	}
}
