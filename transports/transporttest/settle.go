package transporttest

import (
	"github.com/kelpmq/kelp/transports"
)

var settleTests = []test{
	{"Ack", testAck},
	{"NackRequeue", testNackRequeue},
	{"RejectDrops", testRejectDrops},
	{"AckMultiple", testAckMultiple},
	{"NackMultiple", testNackMultiple},
	{"DoubleAck", testDoubleAck},
	{"UnknownTag", testUnknownTag},
	{"NackUnknownTag", testNackUnknownTag},
}

// testAck: an acknowledged message is gone for good: closing the channel
// does not bring it back.
func testAck(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.send(ch, "", q, "acked")
	h.send(ch, "", q, "held")
	h.ack(ch, h.get(ch, q, false).Tag)
	h.get(ch, q, false) // left unsettled
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	_, ch2 := h.open()
	d := h.next(h.consume(ch2, transports.ConsumeArgs{Queue: q, NoAck: true}))
	if string(d.Body) != "held" || !d.Redelivered {
		h.t.Fatalf("after close got %q (redelivered %v), want only the unsettled %q, redelivered", d.Body, d.Redelivered, "held")
	}
	h.getEmpty(h.channel(c), q)
}

// testNackRequeue: a message nacked with requeue comes back marked
// redelivered, to the same consumer if it is the only one.
func testNackRequeue(h *harness) {
	ch, q := h.openQueue()
	h.send(ch, "", q, "again")
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q})
	d := h.next(sub)
	if d.Redelivered {
		h.t.Fatal("first delivery marked Redelivered")
	}
	h.nack(ch, d.Tag, true)
	d2 := h.next(sub)
	if string(d2.Body) != "again" || !d2.Redelivered {
		h.t.Fatalf("after Nack(requeue) got %q redelivered %v, want %q redelivered", d2.Body, d2.Redelivered, "again")
	}
	if d2.Tag == d.Tag {
		h.t.Errorf("redelivery reused tag %d", d.Tag)
	}
	h.ack(ch, d2.Tag)
}

// testRejectDrops: a message rejected without requeue is dropped (there is
// no dead-letter exchange).
func testRejectDrops(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.send(ch, "", q, "dropped")
	h.nack(ch, h.get(ch, q, false).Tag, false)
	h.getEmpty(ch, q)
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	ch = h.channel(c)
	h.wantMessages(ch, q, 0)
	h.getEmpty(ch, q)
}

// getN fetches n unsettled messages with Get.
func (h *harness) getN(ch transports.Channel, q string, n int) []transports.Delivery {
	h.t.Helper()
	ds := make([]transports.Delivery, n)
	for i := range ds {
		ds[i] = h.get(ch, q, false)
	}
	return ds
}

// testAckMultiple: Ack with multiple settles every delivery up to the tag,
// and no other.
func testAckMultiple(h *harness) {
	ch, q := h.openQueue()
	h.fill(ch, q, 5)
	ds := h.getN(ch, q, 5)
	if err := ch.Ack(h.ctx, ds[3].Tag, true); err != nil {
		h.t.Fatalf("Ack(multiple): %v", err)
	}
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	_, ch2 := h.open()
	sub := h.consume(ch2, transports.ConsumeArgs{Queue: q, NoAck: true})
	if d := h.next(sub); string(d.Body) != string(ds[4].Body) {
		h.t.Fatalf("after Ack(multiple) of the 4th of 5 the requeued message is %q, want %q", d.Body, ds[4].Body)
	}
	h.quiet(sub, "a message settled by Ack(multiple) came back")
}

// testNackMultiple: Nack with multiple and requeue returns every delivery
// up to the tag, and no other.
func testNackMultiple(h *harness) {
	ch, q := h.openQueue()
	h.fill(ch, q, 5)
	ds := h.getN(ch, q, 5)
	if err := ch.Nack(h.ctx, ds[2].Tag, true, true); err != nil {
		h.t.Fatalf("Nack(multiple, requeue): %v", err)
	}
	again := h.getN(ch, q, 3)
	h.getEmpty(ch, q)
	if got, want := bodies(again), bodies(ds[:3]); !sameSet(got, want) {
		h.t.Fatalf("requeued by Nack(multiple) %q, want %q", got, want)
	}
	for _, d := range again {
		if !d.Redelivered {
			h.t.Errorf("message %q requeued by Nack not marked Redelivered", d.Body)
		}
	}
	for _, d := range append(again, ds[3:]...) {
		h.ack(ch, d.Tag)
	}
}

// testDoubleAck: acknowledging a delivery twice is a 406 channel error.
func testDoubleAck(h *harness) {
	ch, q := h.openQueue()
	h.send(ch, "", q, "once")
	d := h.get(ch, q, false)
	h.ack(ch, d.Tag)
	err := ch.Ack(h.ctx, d.Tag, false)
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "acknowledging a delivery twice")
}

// testUnknownTag: acknowledging a tag the channel never delivered is a 406
// channel error.
func testUnknownTag(h *harness) {
	ch, q := h.openQueue()
	h.send(ch, "", q, "m")
	d := h.get(ch, q, false)
	err := ch.Ack(h.ctx, d.Tag+1000, false)
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "acknowledging an unknown tag")
}

// testNackUnknownTag: rejecting a tag the channel never delivered is a 406
// channel error.
func testNackUnknownTag(h *harness) {
	_, ch := h.open()
	err := ch.Nack(h.ctx, 4242, false, true)
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "rejecting an unknown tag")
}
