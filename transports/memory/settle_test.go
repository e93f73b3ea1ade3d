package memory_test

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// fill declares queue q and sends it the given bodies.
func (e *env) fill(q string, bodies ...string) {
	e.t.Helper()
	e.declare(e.ch, route.NewQueue(q))
	for _, b := range bodies {
		e.send(q, b)
	}
}

// drain gets every ready message of q (no-ack) and returns bodies and
// redelivered flags.
func (e *env) drain(q string) (bodies []string, redelivered []bool) {
	e.t.Helper()
	for {
		d, ok, err := e.ch.Get(e.ctx, q, true)
		if err != nil {
			e.t.Fatal(err)
		}
		if !ok {
			return
		}
		bodies = append(bodies, string(d.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
}

func TestAckNackMultiple(t *testing.T) {
	tests := []struct {
		name     string
		settle   func(e *env, ch transports.Channel, tags []uint64) error
		wantLeft []string
	}{
		{"ack multiple", func(e *env, ch transports.Channel, tags []uint64) error {
			return ch.Ack(e.ctx, tags[2], true)
		}, []string{"4"}},
		{"ack all with tag 0", func(e *env, ch transports.Channel, tags []uint64) error {
			return ch.Ack(e.ctx, 0, true)
		}, nil},
		{"nack multiple requeue keeps order", func(e *env, ch transports.Channel, tags []uint64) error {
			return ch.Nack(e.ctx, tags[3], true, true)
		}, []string{"1", "2", "3", "4"}},
		{"reject one without requeue", func(e *env, ch transports.Channel, tags []uint64) error {
			return ch.Nack(e.ctx, tags[1], false, false)
		}, []string{"1", "3", "4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.fill("q", "1", "2", "3", "4")
			ch := e.channel(e.conn)
			var tags []uint64
			for range 4 {
				tags = append(tags, e.get(ch, "q", false).Tag)
			}
			if err := tc.settle(e, ch, tags); err != nil {
				t.Fatal(err)
			}
			// Closing the channel requeues what is still unsettled.
			if err := ch.Close(e.ctx); err != nil {
				t.Fatal(err)
			}
			bodies, redeliv := e.drain("q")
			if !slices.Equal(bodies, tc.wantLeft) {
				t.Fatalf("left %v, want %v", bodies, tc.wantLeft)
			}
			for i, r := range redeliv {
				if !r {
					t.Fatalf("message %s not marked redelivered", bodies[i])
				}
			}
		})
	}
}

func TestUnknownTagClosesChannel(t *testing.T) {
	for _, multiple := range []bool{false, true} {
		e := newEnv(t)
		e.fill("q", "1")
		d := e.get(e.ch, "q", false)
		if err := e.ch.Ack(e.ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
		err := e.ch.Ack(e.ctx, d.Tag, multiple)
		if code(err) != 406 || !errors.Is(err, transports.ErrChannelClosed) {
			t.Fatalf("double ack (multiple %v): %v, want 406 closing the channel", multiple, err)
		}
		<-e.ch.Done()
	}
}

func TestChannelCloseRequeuesForAnotherConsumer(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "1", "2", "3")
	ch := e.channel(e.conn)
	s, _ := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"})
	e.next(s)
	e.next(s)
	if st := e.stats("q"); st.Unacked != 2 {
		t.Fatalf("unacked %d", st.Unacked)
	}
	if err := ch.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-s.Deliveries(); ok {
		// Buffered deliveries may still come out; drain them.
		for range s.Deliveries() {
		}
	}
	if !errors.Is(s.Err(), transports.ErrClosed) {
		t.Fatalf("subscription Err after Close: %v", s.Err())
	}
	other := e.channel(e.conn)
	s2, _ := other.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"})
	var got []string
	for range 3 {
		d := e.next(s2)
		got = append(got, string(d.Body))
		if want := d.Body[0] != '3'; d.Redelivered != want {
			t.Fatalf("%s redelivered = %v", d.Body, d.Redelivered)
		}
	}
	if !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("order after requeue %v", got)
	}
}

func TestRecover(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "1", "2")
	ch := e.channel(e.conn)
	e.get(ch, "q", false)
	e.get(ch, "q", false)
	if err := ch.(transports.Recoverer).Recover(e.ctx, true); err != nil {
		t.Fatal(err)
	}
	if st := e.stats("q"); st.Messages != 2 || st.Unacked != 0 {
		t.Fatalf("after recover %+v", st)
	}
	if d := e.get(ch, "q", true); !d.Redelivered || string(d.Body) != "1" {
		t.Fatalf("redelivery %q redelivered=%v", d.Body, d.Redelivered)
	}
}

func TestGlobalPrefetchIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.fill("a")
		e.fill("b")
		for range 5 {
			e.send("a", "a")
			e.send("b", "b")
		}
		ch := e.channel(e.conn)
		if err := ch.Qos(e.ctx, transports.Qos{PrefetchCount: 3, Global: true}); err != nil {
			t.Fatal(err)
		}
		sa, _ := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "a"})
		sb, _ := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "b"})
		synctest.Wait() // both pumps wait for credit
		if n := e.stats("a").Unacked + e.stats("b").Unacked; n != 3 {
			t.Fatalf("%d unacked with a global prefetch of 3", n)
		}
		if n := e.stats("a").Messages + e.stats("b").Messages; n != 7 {
			t.Fatalf("%d ready, want 7", n)
		}
		var d transports.Delivery
		select {
		case d = <-sa.Deliveries():
		case d = <-sb.Deliveries():
		}
		if err := ch.Ack(e.ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := e.stats("a").Unacked + e.stats("b").Unacked; n != 3 {
			t.Fatalf("%d unacked after one ack", n)
		}
		if n := e.stats("a").Messages + e.stats("b").Messages; n != 6 {
			t.Fatalf("%d ready after one ack, want 6", n)
		}
	})
}

func TestCancelHandsOutBufferedDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.fill("q", "1", "2", "3")
		ch := e.channel(e.conn)
		if err := ch.Qos(e.ctx, transports.Qos{PrefetchCount: 2}); err != nil {
			t.Fatal(err)
		}
		s, _ := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"})
		synctest.Wait() // the pump filled the window
		if err := ch.Cancel(e.ctx, s.Tag()); err != nil {
			t.Fatal(err)
		}
		var got []string
		for d := range s.Deliveries() {
			got = append(got, string(d.Body))
			if err := ch.Ack(e.ctx, d.Tag, false); err != nil {
				t.Fatalf("acking a delivery of a cancelled consumer: %v", err)
			}
		}
		if s.Err() != nil || !slices.Equal(got, []string{"1", "2"}) {
			t.Fatalf("got %v, Err %v", got, s.Err())
		}
		if st := e.stats("q"); st.Messages != 1 || st.Consumers != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestNoAckConsumerTakesOnlyWhatIsReceived(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "1", "2", "3")
	s, _ := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q", NoAck: true})
	if d := e.next(s); string(d.Body) != "1" {
		t.Fatalf("got %q", d.Body)
	}
	// The pump holds at most one more message, unsent.
	if err := e.ch.Cancel(e.ctx, s.Tag()); err != nil {
		t.Fatal(err)
	}
	for range s.Deliveries() {
	}
	if bodies, redeliv := e.drain("q"); !slices.Equal(bodies, []string{"2", "3"}) || slices.Contains(redeliv, true) {
		t.Fatalf("left %v (redelivered %v)", bodies, redeliv)
	}
}

func TestRequeuedDeliveryIsPristine(t *testing.T) {
	e := newEnv(t)
	e.declare(e.ch, route.NewQueue("q"))
	e.publish(e.ch, transports.Publishing{RoutingKey: "q", Message: transports.Message{
		Body: []byte("original"), Headers: route.Table{"n": route.Table{"k": "v"}}}})
	d := e.get(e.ch, "q", false)
	copy(d.Body, "XXXXXXXX")
	d.Headers["n"].(route.Table)["k"] = "changed"
	if err := e.ch.Nack(e.ctx, d.Tag, false, true); err != nil {
		t.Fatal(err)
	}
	d = e.get(e.ch, "q", true)
	if string(d.Body) != "original" || d.Headers["n"].(route.Table)["k"] != "v" {
		t.Fatalf("redelivery carries the receiver's changes: %q %v", d.Body, d.Headers)
	}
}
