package memory_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

func TestDropConnectionByName(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "1", "2")
	victim := e.dial("victim")
	vch := e.channel(victim)
	s, err := vch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	e.next(s)
	if n := e.b.DropConnections("victim"); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	<-victim.Done()
	for _, err := range []error{victim.Err(), vch.Err(), s.Err()} {
		if !errors.Is(err, transports.ErrConnLost) || code(err) != 320 {
			t.Fatalf("err %v, want ErrConnLost with a 320", err)
		}
	}
	if _, err := victim.Channel(e.ctx); !errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("Channel on a dropped conn: %v", err)
	}
	if e.conn.Err() != nil {
		t.Fatalf("another connection died: %v", e.conn.Err())
	}
	if st := e.stats("q"); st.Messages != 2 || st.Unacked != 0 {
		t.Fatalf("after the drop %+v", st)
	}
	if d := e.get(e.ch, "q", true); !d.Redelivered || string(d.Body) != "1" {
		t.Fatalf("requeued %q redelivered=%v", d.Body, d.Redelivered)
	}
	if e.b.Connections() != 1 {
		t.Fatalf("%d connections", e.b.Connections())
	}
}

func TestRefuseConnections(t *testing.T) {
	e := newEnv(t)
	refused := errors.New("connection refused")
	e.b.RefuseConnections(refused)
	_, err := e.b.Connector().Connect(e.ctx, transports.ConnectOptions{})
	if !errors.Is(err, transports.ErrConnLost) || !errors.Is(err, refused) {
		t.Fatalf("Connect while refusing: %v", err)
	}
	if e.conn.Err() != nil {
		t.Fatal("a live connection was affected")
	}
	e.b.RefuseConnections(nil)
	e.dial("")
}

func TestCancelConsumersFromTheBroker(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "1")
	s, _ := e.ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"})
	d := e.next(s)
	if n := e.b.CancelConsumers("q"); n != 1 {
		t.Fatalf("cancelled %d", n)
	}
	if _, ok := <-s.Deliveries(); ok {
		t.Fatal("delivery after the broker cancelled")
	}
	if !errors.Is(s.Err(), transports.ErrConsumerCancelled) {
		t.Fatalf("Err %v", s.Err())
	}
	if err := e.ch.Ack(e.ctx, d.Tag, false); err != nil {
		t.Fatalf("the channel must survive: %v", err)
	}
}

func TestBlockPublishing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.fill("q")
		events := e.conn.(transports.BlockNotifier).Blocked()
		e.b.Block("low on memory")
		if ev := <-events; !ev.Active || ev.Reason != "low on memory" {
			t.Fatalf("event %+v", ev)
		}
		late := e.dial("late")
		if ev := <-late.(transports.BlockNotifier).Blocked(); !ev.Active {
			t.Fatal("a connection made while blocked is not told")
		}

		// A publish with a deadline gives up.
		ctx, cancel := context.WithTimeout(e.ctx, time.Second)
		_, err := e.ch.Publish(ctx, transports.Publishing{RoutingKey: "q"})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("publish while blocked: %v", err)
		}
		// Another waits for the unblock.
		done := make(chan error, 1)
		go func() {
			_, err := e.ch.Publish(e.ctx, transports.Publishing{RoutingKey: "q"})
			done <- err
		}()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("publish returned while blocked: %v", err)
		default:
		}
		e.b.Unblock()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if ev := <-events; ev.Active {
			t.Fatalf("event %+v after Unblock", ev)
		}
		if st := e.stats("q"); st.Messages != 1 {
			t.Fatalf("%d messages; the timed-out publish must not be stored", st.Messages)
		}
		if err := late.Close(e.ctx); err != nil {
			t.Fatal(err)
		}
		for range late.(transports.BlockNotifier).Blocked() {
		}
	})
}

func TestNackPublishesAndConfirms(t *testing.T) {
	e := newEnv(t)
	e.fill("q")
	confirms, err := e.ch.(transports.Confirmer).Confirm(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.b.NackPublishes(1)
	for i := range 3 {
		if seq := e.publish(e.ch, transports.Publishing{RoutingKey: "q"}); seq != uint64(i+1) {
			t.Fatalf("seq %d, want %d", seq, i+1)
		}
	}
	for i := range 3 {
		c := <-confirms
		if c.Seq != uint64(i+1) || c.Ack != (i > 0) || c.Return != nil {
			t.Fatalf("confirmation %+v", c)
		}
	}
	if st := e.stats("q"); st.Messages != 2 {
		t.Fatalf("%d messages; the nacked one must be lost", st.Messages)
	}
	// Mandatory and unroutable: returned inside the confirmation.
	e.publish(e.ch, transports.Publishing{RoutingKey: "nowhere", Mandatory: true,
		Message: transports.Message{Body: []byte("back")}})
	c := <-confirms
	if !c.Ack || c.Return == nil || c.Return.ReplyCode != 312 || string(c.Return.Body) != "back" {
		t.Fatalf("confirmation %+v", c)
	}
	if err := e.ch.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-confirms; ok {
		t.Fatal("confirmations not closed with the channel")
	}
}

func TestReturnsOutsideConfirmMode(t *testing.T) {
	e := newEnv(t)
	returns := e.ch.(transports.Returner).Returns()
	e.exchange(e.ch, "ex", route.Direct)
	e.publish(e.ch, transports.Publishing{Exchange: "ex", RoutingKey: "k", Mandatory: true,
		Message: transports.Message{Body: []byte("r")}})
	e.publish(e.ch, transports.Publishing{Exchange: "ex", RoutingKey: "k"}) // not mandatory: dropped
	r := <-returns
	if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != "ex" || string(r.Body) != "r" {
		t.Fatalf("return %+v", r)
	}
	if err := e.ch.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-returns; ok {
		t.Fatal("a second return, or the channel was not closed")
	}
}

func TestCloseIsIdempotentAndReportsErrClosed(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(e.conn)
	for range 2 {
		if err := e.conn.Close(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !errors.Is(e.conn.Err(), transports.ErrClosed) || !errors.Is(ch.Err(), transports.ErrClosed) {
		t.Fatalf("conn Err %v, channel Err %v", e.conn.Err(), ch.Err())
	}
	if _, err := ch.QueueDeclare(e.ctx, route.NewQueue("q")); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("call on a closed channel: %v", err)
	}
}

func TestBrokerClose(t *testing.T) {
	e := newEnv(t)
	e.fill("q", "1")
	if err := e.b.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	<-e.conn.Done()
	if !errors.Is(e.conn.Err(), transports.ErrConnLost) {
		t.Fatalf("conn Err %v", e.conn.Err())
	}
	if _, err := e.b.Connector().Connect(e.ctx, transports.ConnectOptions{}); !errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("Connect after Close: %v", err)
	}
	if e.b.HasQueue("q") {
		t.Fatal("queue survived Close")
	}
}
