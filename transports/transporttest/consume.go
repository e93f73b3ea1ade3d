package transporttest

import (
	"errors"
	"slices"
	"sync"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var consumeTests = []test{
	{"Basic", testConsumeBasic},
	{"GeneratedTags", testConsumeGeneratedTags},
	{"FIFO", testConsumeFIFO},
	{"Prefetch", testConsumePrefetch},
	{"Unlimited", testConsumeUnlimited},
	{"RoundRobin", testConsumeRoundRobin},
	{"SharedQueue", testConsumeSharedQueue},
	{"Cancel", testConsumeCancel},
	{"CancelUnknown", testConsumeCancelUnknown},
	{"ChannelCloseRequeues", func(h *harness) { testCloseRequeues(h, false) }},
	{"ConnCloseRequeues", func(h *harness) { testCloseRequeues(h, true) }},
	{"NoAck", testConsumeNoAck},
	{"GetNoAck", testGetNoAck},
	{"GetEmpty", testGetEmpty},
	{"GetMissing", testGetMissing},
	{"ConsumeMissing", testConsumeMissing},
	{"Exclusive", testConsumeExclusive},
	{"QueueDeleted", testConsumeQueueDeleted},
}

// testConsumeBasic: a consumer gets messages published before and after it
// started, with its tag and the delivery info.
func testConsumeBasic(h *harness) {
	ch, q := h.openQueue()
	h.send(ch, "", q, "before")
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q, Tag: "basic"})
	if sub.Tag() != "basic" {
		h.t.Errorf("Subscription.Tag() = %q, want %q", sub.Tag(), "basic")
	}
	if sub.Deliveries() != sub.Deliveries() {
		h.t.Error("Subscription.Deliveries returned different channels on two calls")
	}
	if err := sub.Err(); err != nil {
		h.t.Errorf("Subscription.Err() of a running consumer = %v, want nil", err)
	}
	d := h.next(sub)
	h.checkInfo("first delivery", d, "", q, q, "basic")
	h.ack(ch, d.Tag)
	h.send(ch, "", q, "after")
	d = h.next(sub)
	if string(d.Body) != "after" {
		h.t.Errorf("second delivery = %q, want %q", d.Body, "after")
	}
	h.ack(ch, d.Tag)
}

// testConsumeGeneratedTags: an empty tag gets a unique one from the driver.
func testConsumeGeneratedTags(h *harness) {
	_, ch := h.open()
	q1, q2 := h.queue(ch), h.queue(ch)
	a := h.consume(ch, transports.ConsumeArgs{Queue: q1})
	b := h.consume(ch, transports.ConsumeArgs{Queue: q2})
	if a.Tag() == "" || b.Tag() == "" || a.Tag() == b.Tag() {
		h.t.Fatalf("generated consumer tags %q and %q, want two distinct non-empty tags", a.Tag(), b.Tag())
	}
	h.send(ch, "", q2, "to b")
	if d := h.next(b); d.ConsumerTag != b.Tag() {
		h.t.Errorf("delivery ConsumerTag = %q, want %q", d.ConsumerTag, b.Tag())
	}
}

// testConsumeFIFO: one publisher's messages come out in order, through Get
// and through a consumer.
func testConsumeFIFO(h *harness) {
	h.require(h.f.FIFO, "Features.FIFO")
	const n = 200
	ch, q := h.openQueue()
	want := numbered("fifo", n)
	for _, b := range want {
		h.send(ch, "", q, b)
	}
	if got := h.getAll(ch, q); !slices.Equal(got, want) {
		h.t.Fatalf("Get order differs from publish order: %q", got)
	}
	for _, b := range want {
		h.send(ch, "", q, b)
	}
	got := bodies(h.nextN(h.consume(ch, transports.ConsumeArgs{Queue: q, NoAck: true}), n))
	if !slices.Equal(got, want) {
		h.t.Fatalf("consumer order differs from publish order: %q", got)
	}
}

// testConsumePrefetch: with prefetch N exactly N deliveries are
// outstanding; each ack lets exactly one more through.
func testConsumePrefetch(h *harness) {
	const prefetch, total = 3, 10
	ch, q := h.openQueue()
	h.fill(ch, q, total)
	h.qos(ch, prefetch)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q})
	outstanding := h.nextN(sub, prefetch)
	h.quiet(sub, "a delivery beyond the prefetch window")
	h.wantMessages(ch, q, total-prefetch)
	seen := len(outstanding)
	for seen < total {
		h.ack(ch, outstanding[0].Tag)
		outstanding = append(outstanding[1:], h.next(sub))
		seen++
		if seen == prefetch+1 {
			h.quiet(sub, "a second delivery after one ack")
			h.wantMessages(ch, q, total-seen)
		}
	}
	for _, d := range outstanding {
		h.ack(ch, d.Tag)
	}
	h.quiet(sub, "a delivery from an empty queue")
	h.wantMessages(ch, q, 0)
}

// testConsumeUnlimited: prefetch 0 does not limit a consumer.
func testConsumeUnlimited(h *harness) {
	const total = 50
	ch, q := h.openQueue()
	h.fill(ch, q, total)
	h.qos(ch, 0)
	ds := h.nextN(h.consume(ch, transports.ConsumeArgs{Queue: q}), total)
	if err := ch.Ack(h.ctx, ds[len(ds)-1].Tag, true); err != nil {
		h.t.Fatalf("Ack(multiple): %v", err)
	}
}

// testConsumeRoundRobin: consumers of one queue that have credit are
// served in turn: two messages go one to each of two consumers.
func testConsumeRoundRobin(h *harness) {
	h.require(h.f.RoundRobin, "Features.RoundRobin")
	c, pub := h.open()
	q := h.queue(pub)
	var subs [2]transports.Subscription
	for i := range subs {
		ch := h.channel(c)
		h.qos(ch, 2)
		subs[i] = h.consume(ch, transports.ConsumeArgs{Queue: q})
	}
	h.fill(pub, q, 2)
	var got [2]int
	for range 2 {
		var ok bool
		select {
		case _, ok = <-subs[0].Deliveries():
			got[0]++
		case _, ok = <-subs[1].Deliveries():
			got[1]++
		case <-h.ctx.Done():
			h.t.Fatalf("consumers got %v of 2 messages within %v", got, h.f.Timeout)
		}
		if !ok {
			h.t.Fatalf("a consumer ended: %v %v", subs[0].Err(), subs[1].Err())
		}
	}
	if got != [2]int{1, 1} {
		h.t.Fatalf("two consumers with credit to spare got %v of two messages, want one each (round robin)", got)
	}
}

// testConsumeSharedQueue: two consumers (on two channels) acking
// concurrently share a queue: each message reaches exactly one of them.
func testConsumeSharedQueue(h *harness) {
	const total = 40
	c, pub := h.open()
	q := h.queue(pub)
	var chans [2]transports.Channel
	var subs [2]transports.Subscription
	for i := range chans {
		chans[i] = h.channel(c)
		h.qos(chans[i], 1)
		subs[i] = h.consume(chans[i], transports.ConsumeArgs{Queue: q})
	}

	type result struct {
		bodies []string
		err    error
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		got     int
		results [2]result
		stop    = make(chan struct{})
	)
	for i, sub := range subs {
		ch := chans[i]
		wg.Go(func() {
			// This goroutine alone drives ch from here on.
			for {
				select {
				case d, ok := <-sub.Deliveries():
					if !ok {
						results[i].err = errors.Join(errors.New("consumer ended early"), sub.Err())
						return
					}
					results[i].bodies = append(results[i].bodies, string(d.Body))
					if err := ch.Ack(h.ctx, d.Tag, false); err != nil {
						results[i].err = err
						return
					}
					mu.Lock()
					got++
					if got == total {
						close(stop)
					}
					mu.Unlock()
				case <-stop:
					return
				case <-h.ctx.Done():
					results[i].err = h.ctx.Err()
					return
				}
			}
		})
	}
	h.fill(pub, q, total)
	wg.Wait()
	var all []string
	for i, r := range results {
		if r.err != nil {
			h.t.Fatalf("consumer %d: %v", i, r.err)
		}
		all = append(all, r.bodies...)
	}
	if !sameSet(all, numbered("m", total)) {
		h.t.Fatalf("the two consumers got %q together, want every message exactly once", all)
	}
	h.t.Logf("the consumers acking concurrently got %d and %d of %d messages", len(results[0].bodies), len(results[1].bodies), total)
}

// testConsumeCancel: after Cancel no more deliveries reach the consumer;
// what was buffered is handed out, then Deliveries closes with Err nil; the
// unacknowledged deliveries stay unsettled and can still be acked.
func testConsumeCancel(h *harness) {
	const prefetch, total = 3, 5
	ch, q := h.openQueue()
	h.fill(ch, q, total)
	h.qos(ch, prefetch)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q, Tag: "to-cancel"})
	got := collect(sub.Deliveries())
	waitItems(h, got, 1, "deliveries before Cancel")
	if err := ch.Cancel(h.ctx, "to-cancel"); err != nil {
		h.t.Fatalf("Cancel: %v", err)
	}
	h.send(ch, "", q, "after cancel")
	ds := waitClosed(h, got, "Deliveries after Cancel")
	if err := sub.Err(); err != nil {
		h.t.Errorf("Subscription.Err after Cancel = %v, want nil", err)
	}
	if len(ds) > prefetch {
		h.t.Fatalf("%d deliveries with prefetch %d", len(ds), prefetch)
	}
	for _, d := range ds {
		if string(d.Body) == "after cancel" {
			h.t.Fatal("a message published after Cancel returned reached the cancelled consumer")
		}
		h.ack(ch, d.Tag)
	}
	rest := total + 1 - len(ds)
	h.wantMessages(ch, q, rest)
	if got := h.getAll(ch, q); len(got) != rest {
		h.t.Fatalf("%d messages left after Cancel, want %d", len(got), rest)
	}
}

// testConsumeCancelUnknown: cancelling an unknown tag is a no-op.
func testConsumeCancelUnknown(h *harness) {
	_, ch := h.open()
	if err := ch.Cancel(h.ctx, "no-such-consumer"); err != nil {
		h.t.Fatalf("Cancel of an unknown tag: %v, want nil", err)
	}
	h.queue(ch)
}

// testCloseRequeues: closing a channel (or its connection) with
// unacknowledged deliveries requeues them, marked redelivered, for another
// consumer; the closed channel's consumer ends.
func testCloseRequeues(h *harness, closeConn bool) {
	const total = 3
	c1, ch1 := h.open()
	q := h.queue(ch1)
	want := h.fill(ch1, q, total)
	sub := h.consume(ch1, transports.ConsumeArgs{Queue: q})
	h.nextN(sub, total)
	if closeConn {
		if err := c1.Close(h.ctx); err != nil {
			h.t.Fatalf("Conn.Close: %v", err)
		}
	} else if err := ch1.Close(h.ctx); err != nil {
		h.t.Fatalf("Channel.Close: %v", err)
	}
	if _, err := h.ended(sub); !endedByConn(err) {
		h.t.Errorf("Subscription.Err after close = %v, want the Channel's or Conn's error", err)
	}
	_, ch2 := h.open()
	ds := h.nextN(h.consume(ch2, transports.ConsumeArgs{Queue: q, NoAck: true}), total)
	for _, d := range ds {
		if !d.Redelivered {
			h.t.Errorf("requeued message %q not marked Redelivered", d.Body)
		}
	}
	if got := bodies(ds); !sameSet(got, want) {
		h.t.Errorf("requeued messages %q, want %q", got, want)
	}
}

// testConsumeNoAck: a no-ack consumer's deliveries are settled on delivery:
// closing its channel requeues nothing.
func testConsumeNoAck(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.fill(ch, q, 3)
	h.nextN(h.consume(ch, transports.ConsumeArgs{Queue: q, NoAck: true}), 3)
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	ch = h.channel(c)
	h.wantMessages(ch, q, 0)
	h.getEmpty(ch, q)
}

// testGetNoAck: Get with noAck settles the message at once.
func testGetNoAck(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.send(ch, "", q, "gone")
	h.get(ch, q, true)
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.getEmpty(h.channel(c), q)
}

// testGetEmpty: Get on an empty queue reports ok false without an error.
func testGetEmpty(h *harness) {
	ch, q := h.openQueue()
	for _, noAck := range []bool{false, true} {
		d, ok, err := ch.Get(h.ctx, q, noAck)
		if err != nil || ok {
			h.t.Fatalf("Get(noAck %v) on an empty queue = %q, %v, %v; want ok false, nil", noAck, d.Body, ok, err)
		}
	}
}

// testGetMissing: Get on a missing queue is 404.
func testGetMissing(h *harness) {
	_, ch := h.open()
	_, _, err := ch.Get(h.ctx, h.name("missing"), false)
	h.wantChannelError(ch, err, transports.ErrNotFound, "Get on a missing queue")
}

// testConsumeMissing: Consume on a missing queue is 404.
func testConsumeMissing(h *harness) {
	_, ch := h.open()
	_, err := ch.Consume(h.ctx, transports.ConsumeArgs{Queue: h.name("missing")})
	h.wantChannelError(ch, err, transports.ErrNotFound, "Consume on a missing queue")
}

// testConsumeExclusive: an exclusive consumer is the queue's only one.
func testConsumeExclusive(h *harness) {
	c, ch := h.open()
	q1, q2 := h.queue(ch), h.queue(ch)
	h.consume(ch, transports.ConsumeArgs{Queue: q1, Exclusive: true})
	other := h.channel(c)
	_, err := other.Consume(h.ctx, transports.ConsumeArgs{Queue: q1})
	h.wantChannelErrorOf(other, err, "a second consumer on a queue with an exclusive consumer",
		transports.ErrAccessRefused, transports.ErrResourceLocked)

	h.consume(ch, transports.ConsumeArgs{Queue: q2})
	other = h.channel(c)
	_, err = other.Consume(h.ctx, transports.ConsumeArgs{Queue: q2, Exclusive: true})
	h.wantChannelErrorOf(other, err, "an exclusive consumer on a queue with a consumer",
		transports.ErrAccessRefused, transports.ErrResourceLocked)
}

// testConsumeQueueDeleted: deleting a queue ends its consumers with
// ErrConsumerCancelled; their channel stays open.
func testConsumeQueueDeleted(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q})
	admin := h.channel(c)
	if _, err := admin.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{}); err != nil {
		h.t.Fatalf("QueueDelete: %v", err)
	}
	if _, err := h.ended(sub); !errors.Is(err, transports.ErrConsumerCancelled) {
		h.t.Errorf("Subscription.Err after its queue was deleted = %v, want ErrConsumerCancelled", err)
	}
	if done(ch.Done()) {
		h.t.Fatalf("deleting a consumed queue closed the consumer's channel: %v", ch.Err())
	}
	h.declareQueue(ch, route.Queue{Name: q})
}
