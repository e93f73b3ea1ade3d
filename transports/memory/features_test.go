package memory_test

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// deadLetterQueue declares queue name with TTL ttl (0: none) dead-lettering
// to the default exchange with routing key to.
func deadLetterQueue(name string, ttl time.Duration, to string) route.Queue {
	q := route.NewQueue(name)
	q.MessageTTL = ttl
	q.Arguments = route.Table{route.ArgDeadLetterExchange: ""}
	q.DeadLetterRoutingKey = to
	return q
}

func TestMessageTTLDeadLettersWithoutConsumers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare(e.ch, deadLetterQueue("delay", 100*time.Millisecond, "work"))
		e.declare(e.ch, route.NewQueue("work"))
		e.publish(e.ch, transports.Publishing{RoutingKey: "delay", Message: transports.Message{
			Body: []byte("retry me"), Properties: transports.Properties{Expiration: "5000"}}})
		time.Sleep(99 * time.Millisecond)
		synctest.Wait()
		if st := e.stats("delay"); st.Messages != 1 {
			t.Fatalf("expired early: %+v", st)
		}
		start := time.Now()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if st := e.stats("delay"); st.Messages != 0 {
			t.Fatalf("not expired at its TTL: %+v", st)
		}
		d := e.get(e.ch, "work", true)
		if string(d.Body) != "retry me" || d.RoutingKey != "work" || d.Exchange != "" || d.Expiration != "" {
			t.Fatalf("dead-lettered delivery %+v", d)
		}
		deaths, _ := d.Headers["x-death"].([]any)
		if len(deaths) != 1 {
			t.Fatalf("x-death %v", d.Headers["x-death"])
		}
		x := deaths[0].(route.Table)
		want := route.Table{"queue": "delay", "reason": "expired", "count": int64(1), "exchange": "",
			"routing-keys": []any{"delay"}, "original-expiration": "5000", "time": start.Truncate(time.Second)}
		for k, v := range want {
			if got := x[k]; !equalValue(got, v) {
				t.Errorf("x-death[%q] = %v, want %v", k, got, v)
			}
		}
		if d.Headers["x-first-death-reason"] != "expired" || d.Headers["x-first-death-queue"] != "delay" {
			t.Errorf("x-first-death-* %v", d.Headers)
		}
	})
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && slices.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return a == b
}

func TestPerMessageExpirationOnlyAtTheHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare(e.ch, route.NewQueue("q"))
		for _, exp := range []string{"1000", "10", ""} {
			e.publish(e.ch, transports.Publishing{RoutingKey: "q", Message: transports.Message{
				Body: []byte(exp), Properties: transports.Properties{Expiration: exp}}})
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if st := e.stats("q"); st.Messages != 3 {
			t.Fatalf("a message behind the head expired: %+v", st)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if bodies, _ := e.drain("q"); !slices.Equal(bodies, []string{""}) {
			t.Fatalf("left %q, want only the message without expiration", bodies)
		}
	})
}

func TestExpiredMessagesAreNeverDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		q := route.NewQueue("q")
		q.MessageTTL = time.Second
		e.declare(e.ch, q)
		e.send("q", "old")
		time.Sleep(500 * time.Millisecond)
		e.send("q", "new")
		time.Sleep(500 * time.Millisecond)
		// "old" expired exactly now; Get must skip it whether or not the
		// timer ran first.
		if d := e.get(e.ch, "q", true); string(d.Body) != "new" {
			t.Fatalf("got %q", d.Body)
		}
	})
}

func TestQueueExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		q := route.NewQueue("tmp")
		q.Expires = time.Second
		e.declare(e.ch, q)
		time.Sleep(900 * time.Millisecond)
		e.declare(e.ch, q) // a redeclare is a use
		time.Sleep(900 * time.Millisecond)
		if !e.b.HasQueue("tmp") {
			t.Fatal("expired although used")
		}
		s, _ := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "tmp"})
		time.Sleep(5 * time.Second)
		if !e.b.HasQueue("tmp") {
			t.Fatal("expired with a consumer")
		}
		if err := e.ch.Cancel(e.ctx, s.Tag()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if e.b.HasQueue("tmp") {
			t.Fatal("unused queue not deleted after x-expires")
		}
	})
}

func TestDeadLetterOnReject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.exchange(e.ch, "dlx", route.Direct)
		a := route.NewQueue("a")
		a.DeadLetterExchange = "dlx"
		a.DeadLetterRoutingKey = "to-b"
		e.declare(e.ch, a)
		e.declare(e.ch, deadLetterQueue("b", 10*time.Millisecond, "c"))
		e.declare(e.ch, deadLetterQueue("c", 10*time.Millisecond, "b"))
		e.bind(e.ch, "b", "dlx", "to-b")

		// a rejects to b through the dlx exchange; b and c expire into each
		// other (the cycle test below).
		e.send("a", "m")
		d := e.get(e.ch, "a", false)
		if err := e.ch.Nack(e.ctx, d.Tag, false, false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := e.stats("b"); st.Messages != 1 {
			t.Fatalf("rejected message not dead-lettered to b: %+v", st)
		}
		d = e.get(e.ch, "b", true)
		x := d.Headers["x-death"].([]any)[0].(route.Table)
		if x["reason"] != "rejected" || x["queue"] != "a" || d.Exchange != "dlx" || d.RoutingKey != "to-b" {
			t.Fatalf("delivery %+v x-death %v", d, x)
		}
	})
}

func TestDeadLetterCycleWithoutRejectionIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.declare(e.ch, deadLetterQueue("b", 10*time.Millisecond, "c"))
		e.declare(e.ch, deadLetterQueue("c", 10*time.Millisecond, "b"))
		e.send("b", "m")
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if st := e.stats("c"); st.Messages != 1 {
			t.Fatalf("b -> c failed: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		// c -> b would return to a queue it died in with no rejection.
		if b, c := e.stats("b").Messages, e.stats("c").Messages; b != 0 || c != 0 {
			t.Fatalf("cycle not broken: b %d, c %d", b, c)
		}
	})
}

func TestMaxLength(t *testing.T) {
	tests := []struct {
		overflow  route.Overflow
		wantLeft  []string
		wantDLX   []string
		wantNacks int
	}{
		{"", []string{"3", "4"}, []string{"1", "2"}, 0},
		{route.OverflowRejectPublish, []string{"1", "2"}, nil, 2},
		{route.OverflowRejectPublishDLX, []string{"1", "2"}, []string{"3", "4"}, 2},
	}
	for _, tc := range tests {
		t.Run(string(tc.overflow), func(t *testing.T) {
			e := newEnv(t)
			e.declare(e.ch, route.NewQueue("dead"))
			q := deadLetterQueue("q", 0, "dead")
			q.MaxLength = 2
			q.Overflow = tc.overflow
			e.declare(e.ch, q)
			confirms, err := e.ch.(transports.Confirmer).Confirm(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []string{"1", "2", "3", "4"} {
				e.send("q", b)
			}
			nacks := 0
			for range 4 {
				if c := <-confirms; !c.Ack {
					nacks++
				}
			}
			left, _ := e.drain("q")
			dead, _ := e.drain("dead")
			if !slices.Equal(left, tc.wantLeft) || !slices.Equal(dead, tc.wantDLX) || nacks != tc.wantNacks {
				t.Fatalf("left %v, dead-lettered %v, %d nacks; want %v, %v, %d",
					left, dead, nacks, tc.wantLeft, tc.wantDLX, tc.wantNacks)
			}
		})
	}
}

func TestMaxLengthBytes(t *testing.T) {
	e := newEnv(t)
	q := route.NewQueue("q")
	q.MaxLengthBytes = 10
	e.declare(e.ch, q)
	for _, b := range []string{"aaaa", "bbbb", "cccc"} {
		e.send("q", b)
	}
	if left, _ := e.drain("q"); !slices.Equal(left, []string{"bbbb", "cccc"}) {
		t.Fatalf("left %v", left)
	}
}

func TestPriorities(t *testing.T) {
	e := newEnv(t)
	q := route.NewQueue("q")
	q.MaxPriority = 5
	e.declare(e.ch, q)
	for i, p := range []uint8{0, 3, 9, 3, 5, 0} {
		e.publish(e.ch, transports.Publishing{RoutingKey: "q", Message: transports.Message{
			Body: []byte{byte('a' + i)}, Properties: transports.Properties{Priority: p}}})
	}
	// 9 counts as 5, and c (9) was published before e (5): FIFO within a
	// level.
	if got, _ := e.drain("q"); !slices.Equal(got, []string{"c", "e", "b", "d", "a", "f"}) {
		t.Fatalf("order %v", got)
	}
	e.declare(e.ch, route.NewQueue("plain"))
	for i, p := range []uint8{0, 9} {
		e.publish(e.ch, transports.Publishing{RoutingKey: "plain", Message: transports.Message{
			Body: []byte{byte('a' + i)}, Properties: transports.Properties{Priority: p}}})
	}
	d := e.get(e.ch, "plain", true)
	if string(d.Body) != "a" {
		t.Fatalf("a queue without x-max-priority is FIFO; got %q first", d.Body)
	}
	if d2 := e.get(e.ch, "plain", true); d2.Priority != 9 {
		t.Fatalf("priority property not kept: %d", d2.Priority)
	}
}
