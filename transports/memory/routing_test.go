package memory_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// ready returns the names of qs that hold at least one ready message.
func (e *env) ready(qs ...string) []string {
	var got []string
	for _, q := range qs {
		if e.stats(q).Messages > 0 {
			got = append(got, q)
		}
	}
	return got
}

func TestRoutingByKind(t *testing.T) {
	type bind struct {
		queue, key string
		args       route.Table
	}
	tests := []struct {
		name    string
		kind    route.Kind
		binds   []bind
		key     string
		headers route.Table
		want    []string
	}{
		{"direct match", route.Direct, []bind{{"a", "k", nil}, {"b", "other", nil}}, "k", nil, []string{"a"}},
		{"direct none", route.Direct, []bind{{"a", "k", nil}}, "x", nil, nil},
		{"topic star is one word", route.Topic, []bind{{"a", "a.*", nil}, {"b", "a.*.c", nil}}, "a.b.c", nil, []string{"b"}},
		{"topic hash matches zero words", route.Topic, []bind{{"a", "a.#", nil}, {"b", "#", nil}}, "a", nil, []string{"a", "b"}},
		{"topic empty words", route.Topic, []bind{{"a", "a..b", nil}, {"b", "a.*.b", nil}}, "a..b", nil, []string{"a", "b"}},
		{"fanout ignores key", route.Fanout, []bind{{"a", "x", nil}, {"b", "y", nil}}, "z", nil, []string{"a", "b"}},
		{"headers all", route.Headers, []bind{
			{"a", "", route.Table{"x-match": "all", "t": "pdf", "v": int64(1)}},
			{"b", "", route.Table{"x-match": "all", "t": "pdf", "v": int64(2)}},
		}, "", route.Table{"t": "pdf", "v": 1}, []string{"a"}},
		{"headers any", route.Headers, []bind{
			{"a", "", route.Table{"x-match": "any", "t": "pdf", "v": int64(9)}},
			{"b", "", route.Table{"x-match": "any", "t": "doc"}},
		}, "", route.Table{"t": "pdf"}, []string{"a"}},
		{"one copy per queue", route.Topic, []bind{{"a", "#", nil}, {"a", "k", nil}}, "k", nil, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.exchange(e.ch, "ex", tc.kind)
			for _, q := range []string{"a", "b"} {
				e.declare(e.ch, route.NewQueue(q))
			}
			for _, b := range tc.binds {
				if err := e.ch.QueueBind(e.ctx, b.queue, "ex", b.key, b.args); err != nil {
					t.Fatal(err)
				}
			}
			e.publish(e.ch, transports.Publishing{Exchange: "ex", RoutingKey: tc.key,
				Message: transports.Message{Body: []byte("m"), Headers: tc.headers}})
			if got := e.ready("a", "b"); !slices.Equal(got, tc.want) {
				t.Fatalf("routed to %v, want %v", got, tc.want)
			}
			if n := e.stats("a").Messages; n > 1 {
				t.Fatalf("queue a got %d copies", n)
			}
		})
	}
}

func TestDefaultExchangeAndUnbind(t *testing.T) {
	e := newEnv(t)
	e.declare(e.ch, route.NewQueue("q"))
	e.send("q", "direct to q")
	e.send("nobody", "dropped")
	if st := e.stats("q"); st.Messages != 1 {
		t.Fatalf("q has %d messages", st.Messages)
	}
	e.exchange(e.ch, "ex", route.Direct)
	e.bind(e.ch, "q", "ex", "k")
	if !e.b.HasBinding("ex", "q", "k", nil) {
		t.Fatal("binding not reported")
	}
	if err := e.ch.QueueUnbind(e.ctx, "q", "ex", "k", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.ch.QueueUnbind(e.ctx, "q", "ex", "never", nil); err != nil {
		t.Fatalf("unbinding a missing binding: %v", err)
	}
	e.publish(e.ch, transports.Publishing{Exchange: "ex", RoutingKey: "k"})
	if st := e.stats("q"); st.Messages != 1 {
		t.Fatalf("unbound queue still receives: %d messages", st.Messages)
	}
	err := e.ch.QueueBind(e.ctx, "q", "", "q", nil)
	if !errors.Is(err, transports.ErrAccessRefused) {
		t.Fatalf("binding to the default exchange: %v, want 403", err)
	}
}

func TestExchangeToExchange(t *testing.T) {
	e := newEnv(t)
	eb := e.ch.(transports.ExchangeBinder)
	e.exchange(e.ch, "front", route.Topic)
	e.exchange(e.ch, "mid", route.Fanout)
	e.exchange(e.ch, "back", route.Direct)
	e.declare(e.ch, route.NewQueue("q1"))
	e.declare(e.ch, route.NewQueue("q2"))
	for _, b := range [][3]string{{"mid", "front", "orders.#"}, {"back", "mid", ""}, {"front", "back", "orders.new"}} {
		if err := eb.ExchangeBind(e.ctx, b[0], b[1], b[2], nil); err != nil {
			t.Fatal(err)
		}
	}
	e.bind(e.ch, "q1", "mid", "")
	e.bind(e.ch, "q2", "back", "orders.new")
	e.bind(e.ch, "q2", "front", "#")
	// front -> mid -> back -> front is a cycle; every queue gets one copy.
	e.publish(e.ch, transports.Publishing{Exchange: "front", RoutingKey: "orders.new", Message: transports.Message{Body: []byte("x")}})
	if a, b := e.stats("q1").Messages, e.stats("q2").Messages; a != 1 || b != 1 {
		t.Fatalf("q1 %d, q2 %d messages; want 1 and 1", a, b)
	}
	if !e.b.HasExchangeBinding("mid", "front", "orders.#", nil) {
		t.Fatal("exchange binding not reported")
	}
	// Deleting mid removes the bindings from and to it.
	if err := e.ch.ExchangeDelete(e.ctx, "mid", false); err != nil {
		t.Fatal(err)
	}
	e.publish(e.ch, transports.Publishing{Exchange: "front", RoutingKey: "orders.old"})
	if a, b := e.stats("q1").Messages, e.stats("q2").Messages; a != 1 || b != 2 {
		t.Fatalf("after deleting mid: q1 %d, q2 %d messages; want 1 and 2", a, b)
	}
}

func TestInternalExchangeRefusesPublish(t *testing.T) {
	e := newEnv(t)
	ex := route.NewExchange("internal", route.Fanout)
	ex.Internal = true
	if err := e.ch.ExchangeDeclare(e.ctx, ex); err != nil {
		t.Fatal(err)
	}
	_, err := e.ch.Publish(e.ctx, transports.Publishing{Exchange: "internal"})
	if !errors.Is(err, transports.ErrAccessRefused) || !errors.Is(err, transports.ErrChannelClosed) {
		t.Fatalf("publish to internal exchange: %v, want 403 closing the channel", err)
	}
	<-e.ch.Done()
}

func TestPublishToMissingExchangeClosesChannel(t *testing.T) {
	e := newEnv(t)
	_, err := e.ch.Publish(e.ctx, transports.Publishing{Exchange: "nope"})
	if !errors.Is(err, transports.ErrNotFound) {
		t.Fatalf("err = %v, want 404", err)
	}
	<-e.ch.Done()
	if !errors.Is(e.ch.Err(), transports.ErrChannelClosed) {
		t.Fatalf("channel Err = %v", e.ch.Err())
	}
	if _, err := e.ch.Publish(e.ctx, transports.Publishing{RoutingKey: "q"}); !errors.Is(err, transports.ErrChannelClosed) {
		t.Fatalf("publish on the closed channel: %v", err)
	}
	// The connection is fine.
	ch := e.channel(e.conn)
	e.declare(ch, route.NewQueue("q"))
}

func TestAutoDeleteExchange(t *testing.T) {
	e := newEnv(t)
	ex := route.NewExchange("ad", route.Direct)
	ex.AutoDelete = true
	if err := e.ch.ExchangeDeclare(e.ctx, ex); err != nil {
		t.Fatal(err)
	}
	e.declare(e.ch, route.NewQueue("q"))
	e.bind(e.ch, "q", "ad", "a")
	e.bind(e.ch, "q", "ad", "b")
	if err := e.ch.QueueUnbind(e.ctx, "q", "ad", "a", nil); err != nil {
		t.Fatal(err)
	}
	if !e.b.HasExchange("ad") {
		t.Fatal("deleted with a binding left")
	}
	// Deleting the queue removes the last binding.
	if _, err := e.ch.QueueDelete(e.ctx, "q", transports.QueueDeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if e.b.HasExchange("ad") {
		t.Fatal("auto-delete exchange survived its last binding")
	}
}
