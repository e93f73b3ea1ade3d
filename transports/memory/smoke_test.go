package memory_test

import (
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

func TestSmokePublishConsumeAck(t *testing.T) {
	e := newEnv(t)
	q := e.declare(e.ch, route.NewQueue("q"))
	if err := e.ch.Qos(e.ctx, transports.Qos{PrefetchCount: 2}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"a", "b", "c"} {
		e.send(q, b)
	}
	s, err := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := e.next(s), e.next(s)
	if string(d1.Body) != "a" || string(d2.Body) != "b" {
		t.Fatalf("got %q %q", d1.Body, d2.Body)
	}
	if st := e.stats(q); st.Messages != 1 || st.Unacked != 2 || st.Consumers != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := e.ch.Ack(e.ctx, d1.Tag, false); err != nil {
		t.Fatal(err)
	}
	if d3 := e.next(s); string(d3.Body) != "c" {
		t.Fatalf("got %q", d3.Body)
	}
}
