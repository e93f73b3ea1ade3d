package transporttest

import (
	"slices"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var queueFeatureTests = []test{
	{"Priorities", testPriorities},
	{"MessageTTL", testMessageTTL},
	{"PerMessageTTL", testPerMessageTTL},
	{"QueueExpires", testQueueExpires},
	{"MaxLengthDropHead", testMaxLengthDropHead},
	{"MaxLengthRejectPublish", testMaxLengthRejectPublish},
	{"DeadLetterRejected", testDeadLetterRejected},
	{"DeadLetterExpired", testDeadLetterExpired},
	{"DeadLetterMaxLength", testDeadLetterMaxLength},
	{"ExclusiveQueue", testExclusiveQueue},
	{"AutoDeleteQueue", testAutoDeleteQueue},
	{"AutoDeleteExchange", testAutoDeleteExchange},
}

// shortTTL is the lifetime of messages that must expire during a test.
const shortTTL = 50 * time.Millisecond

// waitExpired waits until messages published at since with shortTTL have
// expired with a wide margin. Expiry is driven by a clock, so no signal
// exists to wait for.
func (h *harness) waitExpired(since time.Time) {
	h.t.Helper()
	timer := time.NewTimer(time.Until(since.Add(3 * shortTTL)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-h.ctx.Done():
		h.t.Fatal("test timed out waiting for messages to expire")
	}
}

// testPriorities: higher priorities leave first, FIFO within a priority,
// and priorities above the maximum count as the maximum.
func testPriorities(h *harness) {
	h.require(h.f.Priorities, "Features.Priorities")
	_, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("prio"), MaxPriority: 9}).Name
	for _, m := range []struct {
		prio uint8
		body string
	}{{1, "p1-a"}, {5, "p5"}, {9, "p9"}, {0, "p0"}, {1, "p1-b"}, {200, "p200-as-9"}} {
		p := msg("", q, m.body)
		p.Priority = m.prio
		h.publish(ch, p)
	}
	want := []string{"p9", "p200-as-9", "p5", "p1-a", "p1-b", "p0"}
	if got := h.getAll(ch, q); !slices.Equal(got, want) {
		h.t.Fatalf("priority queue order %q, want %q", got, want)
	}
}

// testMessageTTL: a queue's message TTL drops expired messages.
func testMessageTTL(h *harness) {
	h.require(h.f.MessageTTL, "Features.MessageTTL")
	_, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	short := h.declareQueue(ch, route.Queue{Name: h.name("ttl-short"), MessageTTL: shortTTL}).Name
	long := h.declareQueue(ch, route.Queue{Name: h.name("ttl-long"), MessageTTL: time.Hour}).Name
	h.bind(ch, short, ex, "k", nil)
	h.bind(ch, long, ex, "k", nil)
	start := time.Now()
	h.send(ch, ex, "k", "expiring")
	h.waitExpired(start)
	h.getEmpty(ch, short)
	if got := h.getAll(ch, long); !slices.Equal(got, []string{"expiring"}) {
		h.t.Fatalf("queue with a one-hour TTL got %q, want the message", got)
	}
}

// testPerMessageTTL: the Expiration property drops an expired message and
// keeps an unexpired one.
func testPerMessageTTL(h *harness) {
	h.require(h.f.MessageTTL, "Features.MessageTTL")
	ch, q := h.openQueue()
	start := time.Now()
	p := msg("", q, "short")
	p.Expiration = "50"
	h.publish(ch, p)
	p = msg("", q, "long")
	p.Expiration = "3600000"
	h.publish(ch, p)
	h.waitExpired(start)
	if got := h.getAll(ch, q); !slices.Equal(got, []string{"long"}) {
		h.t.Fatalf("queue got %q, want only the message with a one-hour expiration", got)
	}
}

// testQueueExpires: an unused queue with Expires is deleted.
func testQueueExpires(h *harness) {
	h.require(h.f.QueueExpires, "Features.QueueExpires")
	c, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("expires"), Expires: shortTTL}).Name
	h.waitQueueGone(c, q, "the unused queue with Expires "+shortTTL.String()+" is deleted")
}

// testMaxLengthDropHead: a full queue drops its oldest message.
func testMaxLengthDropHead(h *harness) {
	h.require(h.f.MaxLength, "Features.MaxLength")
	_, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("maxlen"), MaxLength: 2}).Name
	for _, b := range []string{"1", "2", "3"} {
		h.send(ch, "", q, b)
	}
	h.wantMessages(ch, q, 2)
	if got := h.getAll(ch, q); !sameSet(got, []string{"2", "3"}) {
		h.t.Fatalf("queue with max length 2 kept %q, want [2 3] (drop-head)", got)
	}
}

// testMaxLengthRejectPublish: a full reject-publish queue refuses new
// messages, with a nack in confirm mode.
func testMaxLengthRejectPublish(h *harness) {
	h.require(h.f.MaxLength, "Features.MaxLength")
	_, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("maxlen-reject"), MaxLength: 2,
		Overflow: route.OverflowRejectPublish}).Name
	var confirms *collector[transports.Confirmation]
	if h.f.Confirms {
		confirms = h.confirm(ch)
	}
	for _, b := range []string{"1", "2", "3"} {
		h.send(ch, "", q, b)
	}
	if confirms != nil {
		for _, c := range waitItems(h, confirms, 3, "confirmations") {
			if want := c.Seq != 3; c.Ack != want {
				h.t.Errorf("confirmation of publish %d: Ack %v, want %v", c.Seq, c.Ack, want)
			}
		}
	}
	if got := h.getAll(ch, q); !sameSet(got, []string{"1", "2"}) {
		h.t.Fatalf("reject-publish queue with max length 2 kept %q, want [1 2]", got)
	}
}

// deadLetterSetup declares a dead-letter exchange with a queue bound to
// key, and returns the exchange, the queue and a consumer of that queue.
func (h *harness) deadLetterSetup(ch transports.Channel, key string) (dlx, dlq string, dead transports.Subscription) {
	h.t.Helper()
	dlx = h.exchange(ch, route.Direct)
	dlq = h.queue(ch)
	h.bind(ch, dlq, dlx, key, nil)
	return dlx, dlq, h.consume(ch, transports.ConsumeArgs{Queue: dlq, NoAck: true})
}

// checkDeath checks the x-death header of a dead-lettered message.
func (h *harness) checkDeath(d transports.Delivery, body, queue, reason string) {
	h.t.Helper()
	if string(d.Body) != body {
		h.t.Fatalf("dead-lettered %q, want %q", d.Body, body)
	}
	deaths, ok := d.Headers["x-death"].([]any)
	if !ok || len(deaths) == 0 {
		h.t.Fatalf("dead-lettered message has x-death %s, want a non-empty list", describe(d.Headers["x-death"]))
	}
	first, ok := asTable(deaths[0])
	if !ok {
		h.t.Fatalf("x-death[0] is %s, want a table", describe(deaths[0]))
	}
	if first["queue"] != queue || first["reason"] != reason {
		h.t.Errorf("x-death[0] queue %s reason %s, want %q %q", describe(first["queue"]), describe(first["reason"]), queue, reason)
	}
}

// testDeadLetterRejected: a message rejected without requeue goes to the
// dead-letter exchange, with the dead-letter routing key or, without one,
// its own.
func testDeadLetterRejected(h *harness) {
	h.require(h.f.DeadLetter, "Features.DeadLetter")
	_, ch := h.open()
	dlx, dlq, dead := h.deadLetterSetup(ch, "dead")
	q := h.declareQueue(ch, route.Queue{Name: h.name("dl"), DeadLetterExchange: dlx, DeadLetterRoutingKey: "dead"}).Name
	h.send(ch, "", q, "rejected")
	h.nack(ch, h.get(ch, q, false).Tag, false)
	d := h.next(dead)
	h.checkDeath(d, "rejected", q, "rejected")
	if d.RoutingKey != "dead" {
		h.t.Errorf("dead-lettered RoutingKey = %q, want the dead-letter routing key", d.RoutingKey)
	}

	own := h.declareQueue(ch, route.Queue{Name: h.name("dl-own-key"), DeadLetterExchange: dlx}).Name
	h.bind(ch, dlq, dlx, own, nil)
	h.send(ch, "", own, "rejected with its own key")
	h.nack(ch, h.get(ch, own, false).Tag, false)
	d = h.next(dead)
	h.checkDeath(d, "rejected with its own key", own, "rejected")
	if d.RoutingKey != own {
		h.t.Errorf("dead-lettered RoutingKey = %q, want the original %q", d.RoutingKey, own)
	}
}

// testDeadLetterExpired: an expired message is dead-lettered with reason
// "expired".
func testDeadLetterExpired(h *harness) {
	h.require(h.f.DeadLetter, "Features.DeadLetter")
	h.require(h.f.MessageTTL, "Features.MessageTTL")
	_, ch := h.open()
	dlx, _, dead := h.deadLetterSetup(ch, "dead")
	q := h.declareQueue(ch, route.Queue{Name: h.name("dl-ttl"), MessageTTL: shortTTL,
		DeadLetterExchange: dlx, DeadLetterRoutingKey: "dead"}).Name
	h.send(ch, "", q, "expired")
	h.checkDeath(h.next(dead), "expired", q, "expired")
}

// testDeadLetterMaxLength: a message dropped from the head of a full queue
// is dead-lettered with reason "maxlen".
func testDeadLetterMaxLength(h *harness) {
	h.require(h.f.DeadLetter, "Features.DeadLetter")
	h.require(h.f.MaxLength, "Features.MaxLength")
	_, ch := h.open()
	dlx, _, dead := h.deadLetterSetup(ch, "dead")
	q := h.declareQueue(ch, route.Queue{Name: h.name("dl-maxlen"), MaxLength: 1,
		DeadLetterExchange: dlx, DeadLetterRoutingKey: "dead"}).Name
	h.send(ch, "", q, "first")
	h.send(ch, "", q, "second")
	h.checkDeath(h.next(dead), "first", q, "maxlen")
	if got := h.getAll(ch, q); !slices.Equal(got, []string{"second"}) {
		h.t.Fatalf("full queue kept %q, want [second]", got)
	}
}

// testExclusiveQueue: an exclusive queue is locked to its connection and
// deleted when that connection closes.
func testExclusiveQueue(h *harness) {
	h.require(h.f.ExclusiveQueues, "Features.ExclusiveQueues")
	owner, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("exclusive"), Exclusive: true}).Name
	h.send(ch, "", q, "mine")
	h.get(ch, q, true)

	other := h.conn()
	och := h.channel(other)
	_, err := och.QueueDeclare(h.ctx, route.Queue{Name: q, Passive: true})
	h.wantChannelError(och, err, transports.ErrResourceLocked, "passive declare of another connection's exclusive queue")
	och = h.channel(other)
	_, err = och.Consume(h.ctx, transports.ConsumeArgs{Queue: q})
	h.wantChannelErrorOf(och, err, "consuming another connection's exclusive queue",
		transports.ErrResourceLocked, transports.ErrAccessRefused)

	if err := owner.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.waitQueueGone(other, q, "the exclusive queue is deleted with its connection")
}

// testAutoDeleteQueue: an auto-delete queue goes when its last consumer is
// cancelled.
func testAutoDeleteQueue(h *harness) {
	h.require(h.f.AutoDelete, "Features.AutoDelete")
	c, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("autodelete"), AutoDelete: true}).Name
	if !h.queueExists(c, q) {
		h.t.Fatal("an auto-delete queue without consumers yet was deleted")
	}
	h.consume(ch, transports.ConsumeArgs{Queue: q, Tag: "a"})
	h.consume(ch, transports.ConsumeArgs{Queue: q, Tag: "b"})
	if err := ch.Cancel(h.ctx, "a"); err != nil {
		h.t.Fatalf("Cancel: %v", err)
	}
	if !h.queueExists(c, q) {
		h.t.Fatal("an auto-delete queue was deleted while it still had a consumer")
	}
	if err := ch.Cancel(h.ctx, "b"); err != nil {
		h.t.Fatalf("Cancel: %v", err)
	}
	h.waitQueueGone(c, q, "the auto-delete queue is deleted after its last consumer")
}

// testAutoDeleteExchange: an auto-delete exchange goes when its last
// binding is removed.
func testAutoDeleteExchange(h *harness) {
	h.require(h.f.AutoDelete, "Features.AutoDelete")
	c, ch := h.open()
	ex := h.name("autodelete")
	h.declareExchange(ch, route.Exchange{Name: ex, Kind: route.Direct, AutoDelete: true})
	q := h.queue(ch)
	h.bind(ch, q, ex, "a", nil)
	h.bind(ch, q, ex, "b", nil)
	if err := ch.QueueUnbind(h.ctx, q, ex, "a", nil); err != nil {
		h.t.Fatalf("QueueUnbind: %v", err)
	}
	if !h.exchangeExists(c, ex) {
		h.t.Fatal("an auto-delete exchange was deleted while it still had a binding")
	}
	if err := ch.QueueUnbind(h.ctx, q, ex, "b", nil); err != nil {
		h.t.Fatalf("QueueUnbind: %v", err)
	}
	h.waitExchangeGone(c, ex, "the auto-delete exchange is deleted after its last binding")
}
