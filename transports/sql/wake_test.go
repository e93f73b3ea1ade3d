package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// TestNotifyWakesOtherProcess: on PostgreSQL a consumer waiting on an empty
// queue, whose safety poll is an hour away, does not poll, and is woken by
// a message another Connector (another process, as far as the database
// knows) publishes, and again by one that Connector requeues.
func TestNotifyWakesOtherProcess(t *testing.T) {
	cfg := postgres.config(t)
	cfg.PollInterval = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons := newConnector(t, cfg)
	ch := kelpChannelT(t, dial(t, cons), "woken")
	deadline := time.Now().Add(10 * time.Second)
	for !cons.Listening() { // the LISTEN connection is the database's: no signal to wait on
		if time.Now().After(deadline) {
			t.Fatal("the listener never subscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "woken", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	// What is measured is the absence of activity over a stretch of time,
	// so the test sleeps through it: a polling consumer would claim about
	// six times (5 ms doubling).
	before := cons.ClaimAttempts()
	time.Sleep(300 * time.Millisecond)
	if n := cons.ClaimAttempts() - before; n > 2 {
		t.Fatalf("the waiting consumer tried %d claims in 300 ms: it polls", n)
	}
	pub := kelpChannelT(t, dial(t, newConnector(t, cfg)), "woken")
	receive := func(want string) transports.Delivery {
		t.Helper()
		select {
		case d := <-sub.Deliveries():
			if string(d.Body) != want {
				t.Fatalf("got %q, want %q", d.Body, want)
			}
			return d
		case <-ctx.Done():
			t.Fatalf("%s never woke the consumer", want)
		}
		return transports.Delivery{}
	}
	if _, err := pub.Publish(ctx, transports.Publishing{RoutingKey: "woken", Message: transports.Message{Body: []byte("published")}}); err != nil {
		t.Fatal(err)
	}
	receive("published")

	// A message the other process got and requeues wakes the consumer too.
	if err := ch.Cancel(ctx, sub.Tag()); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, transports.Publishing{RoutingKey: "woken", Message: transports.Message{Body: []byte("requeued")}}); err != nil {
		t.Fatal(err)
	}
	d, ok, err := pub.Get(ctx, "woken", false)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	sub, err = ch.Consume(ctx, transports.ConsumeArgs{Queue: "woken", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Nack(ctx, d.Tag, false, true); err != nil {
		t.Fatal(err)
	}
	if d := receive("requeued"); !d.Redelivered {
		t.Error("the requeued message is not marked redelivered")
	}
}

// kelpChannelT opens a Channel on conn and declares queue (unless "").
func kelpChannelT(t *testing.T, conn transports.Conn, queue string) transports.Channel {
	t.Helper()
	ch, err := conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if queue != "" {
		if _, err := ch.QueueDeclare(context.Background(), route.Queue{Name: queue}); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}
