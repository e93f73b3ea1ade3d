package transporttest

import (
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var queueTests = []test{
	{"Declare", testQueueDeclare},
	{"ServerNamed", testQueueServerNamed},
	{"PassiveCounts", testQueuePassiveCounts},
	{"PassiveMissing", testQueuePassiveMissing},
	{"RedeclareOtherDefinition", testQueueRedeclareOther},
	{"Delete", testQueueDelete},
	{"DeleteIfEmpty", testQueueDeleteIfEmpty},
	{"DeleteIfUnused", testQueueDeleteIfUnused},
	{"DeleteRemovesBindings", func(h *harness) { testDeleteRemovesBindings(h, true) }},
	{"Purge", testQueuePurge},
	{"PurgeMissing", testQueuePurgeMissing},
}

// testQueueDeclare: a new queue reports its name and zero counts, and an
// identical redeclare succeeds.
func testQueueDeclare(h *harness) {
	_, ch := h.open()
	q := route.Queue{Name: h.name("q")}
	info := h.declareQueue(ch, q)
	h.wantCount("new queue Messages", info.Messages, 0, h.f.MessageCounts)
	h.wantCount("new queue Consumers", info.Consumers, 0, h.f.ConsumerCounts)
	again, err := ch.QueueDeclare(h.ctx, q)
	if err != nil {
		h.t.Fatalf("redeclaring a queue identically: %v", err)
	}
	if again.Name != q.Name {
		h.t.Fatalf("redeclare reported name %q, want %q", again.Name, q.Name)
	}
}

// testQueueServerNamed: an empty name gets a fresh name from the broker.
func testQueueServerNamed(h *harness) {
	h.require(h.f.ServerNamedQueues, "Features.ServerNamedQueues")
	_, ch := h.open()
	a := h.declareQueue(ch, route.Queue{})
	b := h.declareQueue(ch, route.Queue{})
	if a.Name == "" || b.Name == "" {
		h.t.Fatalf("server-named queues got names %q and %q, want non-empty", a.Name, b.Name)
	}
	if a.Name == b.Name {
		h.t.Fatalf("two server-named queues share the name %q", a.Name)
	}
	h.send(ch, "", a.Name, "to a server-named queue")
	if d := h.get(ch, a.Name, true); string(d.Body) != "to a server-named queue" {
		h.t.Fatalf("Get = %q", d.Body)
	}
	h.getEmpty(ch, b.Name)
}

// testQueuePassiveCounts: a passive declare reports ready messages (not the
// unacknowledged ones) and consumers.
func testQueuePassiveCounts(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.fill(ch, q, 3)
	h.wantMessages(ch, q, 3)
	d := h.get(ch, q, false)
	h.wantMessages(ch, q, 2)
	h.ack(ch, d.Tag)
	h.wantMessages(ch, q, 2)

	cons := h.channel(c)
	h.consume(cons, transports.ConsumeArgs{Queue: q, Tag: "counted"})
	h.wantConsumers(ch, q, 1)
	if err := cons.Cancel(h.ctx, "counted"); err != nil {
		h.t.Fatalf("Cancel: %v", err)
	}
	h.wantConsumers(ch, q, 0)
}

// testQueuePassiveMissing: a passive declare of a missing queue is 404 and
// closes the channel.
func testQueuePassiveMissing(h *harness) {
	_, ch := h.open()
	_, err := ch.QueueDeclare(h.ctx, route.Queue{Name: h.name("missing"), Passive: true})
	h.wantChannelError(ch, err, transports.ErrNotFound, "passive QueueDeclare of a missing queue")
}

// testQueueRedeclareOther: redeclaring with a different definition is 406,
// for every property the transport honours.
func testQueueRedeclareOther(h *harness) {
	type change struct {
		name   string
		have   bool
		first  route.Queue
		second route.Queue
	}
	changes := []change{
		{"durability", h.f.Durability, route.Queue{}, route.Queue{Durable: true}},
		{"auto-delete", h.f.AutoDelete, route.Queue{}, route.Queue{AutoDelete: true}},
		{"max-length", h.f.MaxLength, route.Queue{MaxLength: 5}, route.Queue{MaxLength: 6}},
		{"message-ttl", h.f.MessageTTL, route.Queue{MessageTTL: time.Minute}, route.Queue{MessageTTL: 2 * time.Minute}},
		{"max-priority", h.f.Priorities, route.Queue{MaxPriority: 5}, route.Queue{MaxPriority: 9}},
	}
	tested := false
	c := h.conn()
	for _, chg := range changes {
		if !chg.have {
			continue
		}
		tested = true
		ch := h.channel(c)
		chg.first.Name = h.name("q")
		chg.second.Name = chg.first.Name
		h.declareQueue(ch, chg.first)
		_, err := ch.QueueDeclare(h.ctx, chg.second)
		h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "redeclaring a queue with another "+chg.name)
	}
	h.require(tested, "one of Features.Durability, AutoDelete, MaxLength, MessageTTL, Priorities")
}

// testQueueDelete: QueueDelete reports the ready messages and removes the
// queue; deleting a missing queue succeeds with 0.
func testQueueDelete(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.fill(ch, q, 3)
	n, err := ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{})
	if err != nil {
		h.t.Fatalf("QueueDelete: %v", err)
	}
	if n != 3 {
		h.t.Errorf("QueueDelete = %d, want 3 ready messages", n)
	}
	if h.queueExists(c, q) {
		h.t.Fatal("queue still exists after QueueDelete")
	}
	n, err = ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{})
	if err != nil || n != 0 {
		h.t.Fatalf("QueueDelete of a missing queue = %d, %v; want 0, nil", n, err)
	}
	n, err = ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{IfEmpty: true, IfUnused: true})
	if err != nil || n != 0 {
		h.t.Fatalf("QueueDelete(IfEmpty, IfUnused) of a missing queue = %d, %v; want 0, nil", n, err)
	}
}

// testQueueDeleteIfEmpty: IfEmpty refuses a queue with ready messages.
func testQueueDeleteIfEmpty(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	h.send(ch, "", q, "keep me")
	_, err := ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{IfEmpty: true})
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "QueueDelete(IfEmpty) of a queue with a message")
	ch = h.channel(c)
	h.get(ch, q, true)
	if n, err := ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{IfEmpty: true}); err != nil || n != 0 {
		h.t.Fatalf("QueueDelete(IfEmpty) of an empty queue = %d, %v; want 0, nil", n, err)
	}
	if h.queueExists(c, q) {
		h.t.Fatal("queue still exists after QueueDelete(IfEmpty)")
	}
}

// testQueueDeleteIfUnused: IfUnused refuses a queue with a consumer.
func testQueueDeleteIfUnused(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	cons := h.channel(c)
	h.consume(cons, transports.ConsumeArgs{Queue: q, Tag: "user"})
	_, err := ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{IfUnused: true})
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "QueueDelete(IfUnused) of a queue with a consumer")
	if err := cons.Cancel(h.ctx, "user"); err != nil {
		h.t.Fatalf("Cancel: %v", err)
	}
	ch = h.channel(c)
	if _, err := ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{IfUnused: true}); err != nil {
		h.t.Fatalf("QueueDelete(IfUnused) of a queue without consumers: %v", err)
	}
	if h.queueExists(c, q) {
		h.t.Fatal("queue still exists after QueueDelete(IfUnused)")
	}
}

// testQueuePurge: QueuePurge removes and counts the ready messages only;
// unacknowledged ones survive and can be requeued.
func testQueuePurge(h *harness) {
	ch, q := h.openQueue()
	h.fill(ch, q, 3)
	held := h.get(ch, q, false)
	n, err := ch.QueuePurge(h.ctx, q)
	if err != nil {
		h.t.Fatalf("QueuePurge: %v", err)
	}
	if n != 2 {
		h.t.Errorf("QueuePurge = %d, want 2 (the unacknowledged message is not purged)", n)
	}
	h.getEmpty(ch, q)
	h.nack(ch, held.Tag, true)
	d := h.get(ch, q, true)
	if string(d.Body) != string(held.Body) || !d.Redelivered {
		h.t.Fatalf("after requeue Get = %q redelivered %v, want %q redelivered", d.Body, d.Redelivered, held.Body)
	}
	if n, err := ch.QueuePurge(h.ctx, q); err != nil || n != 0 {
		h.t.Fatalf("QueuePurge of an empty queue = %d, %v; want 0, nil", n, err)
	}
}

// testQueuePurgeMissing: purging a missing queue is 404.
func testQueuePurgeMissing(h *harness) {
	_, ch := h.open()
	_, err := ch.QueuePurge(h.ctx, h.name("missing"))
	h.wantChannelError(ch, err, transports.ErrNotFound, "QueuePurge of a missing queue")
}
