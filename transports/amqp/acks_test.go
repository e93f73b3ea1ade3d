package amqp_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// A burst of acks goes out as one basic.ack with multiple only where that
// covers exactly the deliveries acked: deliveries left unsettled in the
// middle of the burst, and rejected ones, must not be acked with it. After
// the channel closes, exactly the unsettled ones are back in the queue.
func TestMergedAcksSpareUnsettled(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	c, pub := open(t, ctx)
	defer closeConn(t, c)
	q := declareQueue(t, ctx, pub, route.Queue{Name: unique("acks")})
	const n = 300
	for i := range n {
		p := transports.Publishing{RoutingKey: q, Message: transports.Message{Body: []byte(strconv.Itoa(i)),
			Properties: transports.Properties{DeliveryMode: route.Transient}}}
		if _, err := pub.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, ctx, "the messages queued", func() bool {
		info, err := pub.QueueDeclare(ctx, route.Queue{Name: q, Passive: true})
		return err == nil && info.Messages == n
	})

	ch, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: n}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	var got []transports.Delivery
	for len(got) < n {
		select {
		case d := <-sub.Deliveries():
			got = append(got, d)
		case <-ctx.Done():
			t.Fatalf("%d deliveries of %d", len(got), n)
		}
	}
	left := map[string]bool{}
	for i, d := range got {
		switch {
		case i%11 == 5:
			err = ch.Nack(ctx, d.Tag, false, false)
		case i%7 == 3 || i == n-1:
			left[string(d.Body)] = true
			continue
		default:
			err = ch.Ack(ctx, d.Tag, false)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Close(ctx); err != nil { // sends what is queued first
		t.Fatal(err)
	}
	if err := ch.Err(); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("the channel ended with %v, want a clean close (a bad ack closes it with 406)", err)
	}
	var back []string
	eventually(t, ctx, "the unsettled deliveries requeued", func() bool {
		info, err := pub.QueueDeclare(ctx, route.Queue{Name: q, Passive: true})
		return err == nil && info.Messages >= len(left)
	})
	for {
		d, ok, err := pub.Get(ctx, q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		back = append(back, string(d.Body))
	}
	if len(back) != len(left) {
		t.Fatalf("%d messages back in the queue, want the %d left unsettled: %v", len(back), len(left), back)
	}
	for _, b := range back {
		if !left[b] {
			t.Fatalf("message %s came back, but it was acked or rejected", b)
		}
	}
}
