package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

func TestPublishGetRoundTrip(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	_, ch := open(t, ctx)
	ex := unique("ex")
	declareExchange(t, ctx, ch, route.Exchange{Name: ex, Kind: route.Direct})
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q")})
	if err := ch.QueueBind(ctx, q, ex, "rk", nil); err != nil {
		t.Fatal(err)
	}
	stamp := time.Unix(1700000000, 0)
	props := transports.Properties{
		ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: route.Persistent,
		Priority: 3, CorrelationID: "corr", ReplyTo: "reply", Expiration: "60000", MessageID: "id-1",
		Timestamp: stamp, Type: "kind", UserID: brokerConfig(t).Username, AppID: "kelp-test",
	}
	// What goes out, and what comes back (the wire's Go types).
	headers := route.Table{
		"string": "héllo", "bytes": []byte{0, 0xff}, "bool": true, "void": nil,
		"int8": int8(-8), "uint8": uint8(8), "int16": int16(-16), "uint16": uint16(16),
		"int32": int32(-32), "uint32": uint32(32), "int64": int64(1) << 62, "int": math.MaxInt32 + 1,
		"float32": float32(1.5), "float64": -2.25, "time": stamp,
		"decimal": amqp.Decimal{Scale: 2, Value: -1250},
		"table":   route.Table{"inner": "v", "deep": map[string]any{"n": int64(7)}},
		"list":    []any{"a", int64(1), []any{"nested"}, route.Table{"k": "v"}},
		"strings": []string{"x", "y"},
	}
	want := route.Table{
		"string": "héllo", "bytes": []byte{0, 0xff}, "bool": true, "void": nil,
		"int8": int8(-8), "uint8": uint8(8), "int16": int16(-16), "uint16": uint16(16),
		"int32": int32(-32), "uint32": uint32(32), "int64": int64(1) << 62, "int": int64(math.MaxInt32 + 1),
		"float32": float32(1.5), "float64": -2.25, "time": stamp,
		"decimal": amqp.Decimal{Scale: 2, Value: -1250},
		"table":   route.Table{"inner": "v", "deep": route.Table{"n": int64(7)}},
		"list":    []any{"a", int64(1), []any{"nested"}, route.Table{"k": "v"}},
		"strings": []any{"x", "y"},
	}
	body := []byte("body \x00 bytes")
	if _, err := ch.Publish(ctx, transports.Publishing{Exchange: ex, RoutingKey: "rk",
		Message: transports.Message{Body: body, Headers: headers, Properties: props}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Publish(ctx, transports.Publishing{Exchange: ex, RoutingKey: "rk"}); err != nil {
		t.Fatal(err)
	}
	var d transports.Delivery
	eventually(t, ctx, "the message arrives", func() bool {
		var ok bool
		var err error
		d, ok, err = ch.Get(ctx, q, false)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if string(d.Body) != string(body) || d.Exchange != ex || d.RoutingKey != "rk" || d.Queue != q ||
		d.Redelivered || d.MessageCount != 1 || d.ConsumerTag != "" || d.Tag == 0 {
		t.Errorf("delivery info: body %q exchange %q key %q queue %q redelivered %v count %d ctag %q tag %d",
			d.Body, d.Exchange, d.RoutingKey, d.Queue, d.Redelivered, d.MessageCount, d.ConsumerTag, d.Tag)
	}
	if d.Properties.Timestamp.Unix() != stamp.Unix() {
		t.Errorf("Timestamp = %v, want %v", d.Properties.Timestamp, stamp)
	}
	gotProps := d.Properties
	gotProps.Timestamp = stamp
	if gotProps != props {
		t.Errorf("properties:\n got  %+v\n want %+v", gotProps, props)
	}
	for k, w := range want {
		g, ok := d.Headers[k]
		if !ok {
			t.Errorf("header %q missing", k)
			continue
		}
		if tm, ok := g.(time.Time); ok {
			g = time.Unix(tm.Unix(), 0) // drop the location
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("header %q = %T(%#v), want %T(%#v)", k, g, g, w, w)
		}
	}
	if len(d.Headers) != len(want) {
		t.Errorf("headers has %d keys, want %d", len(d.Headers), len(want))
	}
	if err := ch.Ack(ctx, d.Tag, false); err != nil {
		t.Fatal(err)
	}
	d2, ok, err := ch.Get(ctx, q, true)
	if err != nil || !ok || d2.Headers != nil || len(d2.Body) != 0 || d2.MessageCount != 0 {
		t.Fatalf("second Get: %+v %v %v", d2, ok, err)
	}
	if _, ok, err := ch.Get(ctx, q, true); ok || err != nil {
		t.Fatalf("Get on an empty queue = %v, %v", ok, err)
	}
}

func TestPublishRefusesBadHeaders(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	_, ch := open(t, ctx)
	_, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "x",
		Message: transports.Message{Headers: route.Table{"bad": struct{}{}}}})
	wantErr(t, err, "Publish with a struct header", amqp.ErrInvalidArgument)
	if ch.Err() != nil {
		t.Fatalf("the channel closed: %v", ch.Err())
	}
	err = ch.Qos(ctx, transports.Qos{PrefetchCount: 70000})
	wantErr(t, err, "Qos out of range", amqp.ErrInvalidArgument)
	err = ch.QueueBind(ctx, "q", "e", "", route.Table{"bad": make(chan int)})
	wantErr(t, err, "QueueBind with a bad argument", amqp.ErrInvalidArgument)
	if ch.Err() != nil {
		t.Fatalf("the channel closed: %v", ch.Err())
	}
}

// publishN publishes bodies prefix-0 ... to queue through the default
// exchange.
func publishN(t *testing.T, ctx context.Context, ch transports.Channel, queue, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: queue,
			Message: transports.Message{Body: fmt.Appendf(nil, "%s-%d", prefix, i)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// receive takes one delivery, failing the test when none comes in time.
func receive(t *testing.T, ctx context.Context, sub transports.Subscription) transports.Delivery {
	t.Helper()
	select {
	case d, ok := <-sub.Deliveries():
		if !ok {
			t.Fatalf("Deliveries closed: %v", sub.Err())
		}
		return d
	case <-ctx.Done():
		t.Fatal("no delivery in time")
	}
	panic("unreachable")
}

// quiet checks that no delivery arrives for a while.
func quiet(t *testing.T, sub transports.Subscription, what string) {
	t.Helper()
	select {
	case d := <-sub.Deliveries():
		t.Fatalf("%s: got delivery %q", what, d.Body)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestConsumePrefetchAndSettle(t *testing.T) {
	ctx := testCtx(t, 15*time.Second)
	_, ch := open(t, ctx)
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q")})
	publishN(t, ctx, ch, q, "m", 6)
	// PrefetchSize is ignored: RabbitMQ would close the connection for it.
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 2, PrefetchSize: 4096}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	d0, d1 := receive(t, ctx, sub), receive(t, ctx, sub)
	if string(d0.Body) != "m-0" || string(d1.Body) != "m-1" || d0.ConsumerTag != sub.Tag() || d0.Queue != q {
		t.Fatalf("got %q, %q (tag %q, queue %q)", d0.Body, d1.Body, d0.ConsumerTag, d0.Queue)
	}
	quiet(t, sub, "beyond the prefetch window of 2")

	// Requeue one: it comes back redelivered.
	if err := ch.Nack(ctx, d0.Tag, false, true); err != nil {
		t.Fatal(err)
	}
	r := receive(t, ctx, sub)
	if string(r.Body) != "m-0" || !r.Redelivered {
		t.Fatalf("after requeue got %q redelivered=%v", r.Body, r.Redelivered)
	}
	quiet(t, sub, "after one requeue")
	// Reject without requeue drops it; one more comes.
	if err := ch.Nack(ctx, r.Tag, false, false); err != nil {
		t.Fatal(err)
	}
	d2 := receive(t, ctx, sub)
	// Ack multiple settles d1 and d2.
	if err := ch.Ack(ctx, d2.Tag, true); err != nil {
		t.Fatal(err)
	}
	d3, d4 := receive(t, ctx, sub), receive(t, ctx, sub)
	quiet(t, sub, "after ack multiple")
	// Nack multiple with requeue puts both back.
	if err := ch.Nack(ctx, d4.Tag, true, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{string(d3.Body), string(d4.Body)} {
		if d := receive(t, ctx, sub); string(d.Body) != want || !d.Redelivered {
			t.Fatalf("after nack multiple got %q (redelivered %v), want %q", d.Body, d.Redelivered, want)
		}
	}

	// Cancel: the channel closes with Err nil; unknown tags are a no-op.
	if err := ch.Cancel(ctx, sub.Tag()); err != nil {
		t.Fatal(err)
	}
	for range sub.Deliveries() {
	}
	if sub.Err() != nil {
		t.Fatalf("Err after Cancel = %v", sub.Err())
	}
	if err := ch.Cancel(ctx, "no-such-consumer"); err != nil {
		t.Fatalf("Cancel of an unknown tag: %v", err)
	}
	// An unknown delivery tag closes the channel with 406.
	if err := ch.Ack(ctx, 9999, false); err != nil {
		t.Fatalf("Ack is asynchronous in AMQP: %v", err)
	}
	waitClosed(t, ctx, ch.Done(), "channel after acking an unknown tag")
	wantErr(t, ch.Err(), "Err after acking an unknown tag", transports.ErrChannelClosed, transports.ErrPreconditionFailed)
}

func TestBrokerCancelsConsumer(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	c, ch := open(t, ctx)
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q")})
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q, Tag: "my-tag"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Tag() != "my-tag" {
		t.Fatalf("Tag = %q", sub.Tag())
	}
	other, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.QueueDelete(ctx, q, transports.QueueDeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-sub.Deliveries():
		if ok {
			t.Fatal("unexpected delivery")
		}
	case <-ctx.Done():
		t.Fatal("Deliveries not closed after the queue was deleted")
	}
	wantErr(t, sub.Err(), "Err of a consumer whose queue was deleted", transports.ErrConsumerCancelled)
	if ch.Err() != nil {
		t.Fatalf("the channel closed: %v", ch.Err())
	}
}

func TestNoAckConsumerAndRecover(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	_, ch := open(t, ctx)
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("q")})
	publishN(t, ctx, ch, q, "m", 2)
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	first := receive(t, ctx, sub)
	receive(t, ctx, sub)
	rec := ch.(transports.Recoverer)
	wantErr(t, rec.Recover(ctx, false), "Recover without requeue", transports.ErrUnsupported)
	if err := rec.Recover(ctx, true); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, ctx, sub); string(d.Body) != string(first.Body) || !d.Redelivered {
		t.Fatalf("after Recover got %q redelivered=%v", d.Body, d.Redelivered)
	}
	if err := ch.Cancel(ctx, sub.Tag()); err != nil {
		t.Fatal(err)
	}

	noAck, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q, NoAck: true, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Consume(ctx, transports.ConsumeArgs{Queue: q})
	wantErr(t, err, "a second consumer next to an exclusive one", transports.ErrAccessRefused)
	_ = noAck
}

func TestCallWithEndedContext(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	_, ch := open(t, ctx)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, err := ch.QueueDeclare(ended, route.Queue{Name: unique("never")})
	wantErr(t, err, "QueueDeclare with an ended ctx", context.Canceled)
	if errors.Is(err, transports.ErrChannelClosed) || ch.Err() != nil {
		t.Fatalf("nothing was sent, the channel must stay open: %v / %v", err, ch.Err())
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 1}); err != nil {
		t.Fatal(err)
	}
}
