package amqp_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// TestConfirmsCarryTheirReturns pipelines many mandatory publishes, some
// routable (persistent, to a durable queue: RabbitMQ confirms them only
// after writing them, so their acks come late and out of order relative to
// the immediate acks of unroutable ones) and some unroutable, and checks
// that every confirmation carries the return of its own publish and no
// other.
func TestConfirmsCarryTheirReturns(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	_, ch := open(t, ctx)
	ex := unique("ex")
	declareExchange(t, ctx, ch, route.Exchange{Name: ex, Kind: route.Direct})
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q"), Durable: true})
	if err := ch.QueueBind(ctx, q, ex, "routed", nil); err != nil {
		t.Fatal(err)
	}
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil || again != confirms {
		t.Fatalf("second Confirm = %v, %v; want the same channel", again, err)
	}

	const n = 600
	rng := rand.New(rand.NewPCG(1, 2))
	unroutable := make(map[uint64]string)
	bodies := make(map[uint64]string)
	results := make(chan []transports.Confirmation, 1)
	go func() {
		var got []transports.Confirmation
		for c := range confirms {
			got = append(got, c)
			if len(got) == n {
				break
			}
		}
		results <- got
	}()
	for i := range n {
		key, mode := "routed", route.Persistent
		lost := rng.IntN(3) == 0
		if lost {
			key, mode = "nowhere", route.Transient
		}
		body := fmt.Sprintf("msg-%d", i)
		if i%50 == 7 {
			body = "same body" // equal bodies, but routed differently
		}
		seq, err := ch.Publish(ctx, transports.Publishing{Exchange: ex, RoutingKey: key, Mandatory: true,
			Message: transports.Message{Body: []byte(body), Properties: transports.Properties{DeliveryMode: mode}}})
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i+1) {
			t.Fatalf("publish %d got seq %d", i, seq)
		}
		bodies[seq] = body
		if lost {
			unroutable[seq] = body
		}
	}
	var got []transports.Confirmation
	select {
	case got = <-results:
	case <-ctx.Done():
		t.Fatal("confirmations did not arrive")
	}
	seen := make(map[uint64]bool)
	returned := 0
	for _, c := range got {
		if seen[c.Seq] {
			t.Fatalf("seq %d confirmed twice", c.Seq)
		}
		seen[c.Seq] = true
		if !c.Ack {
			t.Errorf("seq %d nacked", c.Seq)
		}
		body, lost := unroutable[c.Seq]
		switch {
		case lost && c.Return == nil:
			t.Errorf("seq %d (%q) was unroutable but its confirmation has no return", c.Seq, body)
		case !lost && c.Return != nil:
			t.Errorf("seq %d (%q) was routed but got return %q", c.Seq, bodies[c.Seq], c.Return.Body)
		case lost:
			returned++
			if string(c.Return.Body) != body || c.Return.ReplyCode != 312 || c.Return.RoutingKey != "nowhere" || c.Return.Exchange != ex {
				t.Errorf("seq %d: return %+v, want body %q code 312", c.Seq, c.Return, body)
			}
		}
	}
	if len(seen) != n || returned != len(unroutable) {
		t.Fatalf("%d confirmations (%d returns), want %d (%d)", len(seen), returned, n, len(unroutable))
	}
	// Returns() stays silent in confirm mode.
	select {
	case r := <-ch.(transports.Returner).Returns():
		t.Fatalf("return %q on Returns in confirm mode", r.Body)
	default:
	}
}

func TestReturnsOutsideConfirmMode(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	_, ch := open(t, ctx)
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q")})
	for i, key := range []string{"nowhere-1", q, "nowhere-2"} {
		if seq, err := ch.Publish(ctx, transports.Publishing{RoutingKey: key, Mandatory: true,
			Message: transports.Message{Body: fmt.Appendf(nil, "m%d", i), Headers: route.Table{"h": "v"}}}); err != nil || seq != 0 {
			t.Fatalf("Publish = %d, %v", seq, err)
		}
	}
	returns := ch.(transports.Returner).Returns()
	for _, want := range []string{"m0", "m2"} {
		select {
		case r := <-returns:
			if string(r.Body) != want || r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || !r.Mandatory || r.Headers["h"] != "v" {
				t.Fatalf("return %+v, want body %q", r, want)
			}
		case <-ctx.Done():
			t.Fatalf("return %q did not arrive", want)
		}
	}
	// A return of a publish made before Confirm still goes to Returns.
	if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "nowhere-3", Mandatory: true,
		Message: transports.Message{Body: []byte("before")}}); err != nil {
		t.Fatal(err)
	}
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-returns:
		if string(r.Body) != "before" {
			t.Fatalf("got return %q", r.Body)
		}
	case <-ctx.Done():
		t.Fatal("the return of a publish made before Confirm did not arrive")
	}
	seq, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "nowhere-4", Mandatory: true,
		Message: transports.Message{Body: []byte("after")}})
	if err != nil || seq != 1 {
		t.Fatalf("first publish in confirm mode: %d, %v", seq, err)
	}
	select {
	case c := <-confirms:
		if c.Seq != 1 || c.Return == nil || string(c.Return.Body) != "after" {
			t.Fatalf("confirmation %+v", c)
		}
	case <-ctx.Done():
		t.Fatal("no confirmation")
	}
}
