package transporttest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var messageTests = []test{
	{"RoundTripGet", func(h *harness) { testRoundTrip(h, false) }},
	{"RoundTripConsume", func(h *harness) { testRoundTrip(h, true) }},
	{"NoProperties", testNoProperties},
	{"DeliveryModes", testDeliveryModes},
	{"Bodies", testBodies},
	{"ReceiverOwnsDelivery", testReceiverOwnsDelivery},
	{"RequeueKeepsOriginal", testRequeueKeepsOriginal},
	{"GetMessageCount", testGetMessageCount},
	{"TagsUnique", testTagsUnique},
}

// fullHeaders returns every header value the transport must preserve.
func (h *harness) fullHeaders() route.Table {
	t := baseHeaders()
	if h.f.BinaryHeaders {
		t["bytes"] = []byte{0, 1, 2, 0xfe, 0xff}
		t["table"].(route.Table)["bytes"] = []byte("nested")
	}
	if h.f.TimeHeaders {
		t["time"] = time.Date(2024, 2, 29, 12, 30, 45, 0, time.UTC)
	}
	return t
}

// fullProperties sets every basic property.
func (h *harness) fullProperties() transports.Properties {
	return transports.Properties{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    route.Persistent,
		Priority:        0, // a non-zero priority needs Features.Priorities to mean anything
		CorrelationID:   "corr-1",
		ReplyTo:         "reply.queue",
		Expiration:      "3600000",
		MessageID:       "msg-1",
		Timestamp:       time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Type:            "kelp.test",
		UserID:          h.f.UserID,
		AppID:           "transporttest",
	}
}

// checkMessage compares a delivery's message with what was published.
func (h *harness) checkMessage(what string, want transports.Message, got transports.Delivery) {
	h.t.Helper()
	if !bytes.Equal(got.Body, want.Body) {
		h.t.Errorf("%s: Body = %q, want %q", what, abbreviate(got.Body), abbreviate(want.Body))
	}
	for _, d := range diffProperties(want.Properties, got.Properties) {
		h.t.Errorf("%s: %s", what, d)
	}
	for _, d := range diffTable("Headers", want.Headers, got.Headers) {
		h.t.Errorf("%s: %s", what, d)
	}
}

// checkInfo compares a delivery's routing information.
func (h *harness) checkInfo(what string, d transports.Delivery, exchange, key, queue, consumerTag string) {
	h.t.Helper()
	if d.Exchange != exchange || d.RoutingKey != key || d.Queue != queue || d.ConsumerTag != consumerTag {
		h.t.Errorf("%s: delivery info exchange %q, routing key %q, queue %q, consumer tag %q; want %q, %q, %q, %q",
			what, d.Exchange, d.RoutingKey, d.Queue, d.ConsumerTag, exchange, key, queue, consumerTag)
	}
	if d.Redelivered {
		h.t.Errorf("%s: Redelivered on the first delivery", what)
	}
}

// abbreviate shortens a long body for messages.
func abbreviate(b []byte) []byte {
	if len(b) <= 64 {
		return b
	}
	return append(append([]byte(nil), b[:61]...), "..."...)
}

// testRoundTrip: Body, every property and every header type survive a
// publish through an exchange and come back through Get or a consumer, with
// the delivery info of the publish.
func testRoundTrip(h *harness, viaConsumer bool) {
	_, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "round.trip", nil)
	want := transports.Message{
		Body:       []byte(`{"hello":"wörld"}`),
		Headers:    h.fullHeaders(),
		Properties: h.fullProperties(),
	}
	h.publish(ch, transports.Publishing{Exchange: ex, RoutingKey: "round.trip", Message: want})
	// The publisher gave up Body and Headers: compare with fresh copies.
	want.Body, want.Headers = []byte(`{"hello":"wörld"}`), h.fullHeaders()
	var d transports.Delivery
	tag := ""
	if viaConsumer {
		tag = "round-trip-consumer"
		d = h.next(h.consume(ch, transports.ConsumeArgs{Queue: q, Tag: tag}))
	} else {
		d = h.get(ch, q, false)
		h.wantCount("Get MessageCount of the only message", d.MessageCount, 0, h.f.MessageCounts)
	}
	h.checkMessage("delivery", want, d)
	h.checkInfo("delivery", d, ex, "round.trip", q, tag)
	h.ack(ch, d.Tag)
}

// testNoProperties: a message with only a body comes back with that body
// and no headers.
func testNoProperties(h *harness) {
	ch, q := h.openQueue()
	h.send(ch, "", q, "bare")
	d := h.get(ch, q, true)
	if string(d.Body) != "bare" {
		h.t.Errorf("Body = %q, want %q", d.Body, "bare")
	}
	if len(d.Headers) != 0 {
		h.t.Errorf("Headers = %v, want none", d.Headers)
	}
	h.checkInfo("delivery", d, "", q, q, "")
}

// testDeliveryModes: both delivery modes survive.
func testDeliveryModes(h *harness) {
	ch, q := h.openQueue()
	for _, mode := range []route.DeliveryMode{route.Transient, route.Persistent} {
		p := msg("", q, mode.String())
		p.DeliveryMode = mode
		h.publish(ch, p)
		if d := h.get(ch, q, true); d.DeliveryMode != mode {
			h.t.Errorf("DeliveryMode = %v, want %v", d.DeliveryMode, mode)
		}
	}
}

// testBodies: bodies of every shape come back byte for byte.
func testBodies(h *harness) {
	ch, q := h.openQueue()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, h.f.MaxMessageSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	cases := []struct {
		name string
		body []byte
	}{
		{"empty", []byte{}},
		{"every byte value", all},
		{"invalid UTF-8", []byte{0xff, 0xfe, 0xc3, 0x28}},
		{"JSON-looking", []byte(`{"body": "aGk=", "x": [1, 2]}`)},
		{"MaxMessageSize", big},
	}
	for _, c := range cases {
		p := transports.Publishing{RoutingKey: q, Message: transports.Message{Body: bytes.Clone(c.body)}}
		h.publish(ch, p)
		d := h.get(ch, q, true)
		if !bytes.Equal(d.Body, c.body) {
			h.t.Errorf("%s body (%d bytes) came back as %d bytes %q", c.name, len(c.body), len(d.Body), abbreviate(d.Body))
		}
	}
}

// mutate changes every byte of a delivery's body and every header in place,
// as a receiver that owns the message may.
func mutate(d transports.Delivery) {
	for i := range d.Body {
		d.Body[i] = 'X'
	}
	for _, v := range d.Headers {
		switch v := v.(type) {
		case route.Table:
			v["mutated"] = true
		case map[string]any:
			v["mutated"] = true
		case []any:
			if len(v) > 0 {
				v[0] = "mutated"
			}
		case []byte:
			if len(v) > 0 {
				v[0] = 'X'
			}
		}
	}
	d.Headers["added-by-receiver"] = true
}

// testReceiverOwnsDelivery: two queues get the same message; changing one
// delivery in place leaves the other as published.
func testReceiverOwnsDelivery(h *harness) {
	_, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	q1, q2 := h.queue(ch), h.queue(ch)
	h.bind(ch, q1, ex, "k", nil)
	h.bind(ch, q2, ex, "k", nil)
	want := transports.Message{Body: []byte("shared?"), Headers: h.fullHeaders()}
	h.publish(ch, transports.Publishing{Exchange: ex, RoutingKey: "k", Message: want})
	want = transports.Message{Body: []byte("shared?"), Headers: h.fullHeaders()}
	mutate(h.get(ch, q1, true))
	h.checkMessage("the second queue's copy after the first was changed", want, h.get(ch, q2, true))
}

// testRequeueKeepsOriginal: changing a delivery and requeueing it does not
// change what the queue redelivers.
func testRequeueKeepsOriginal(h *harness) {
	ch, q := h.openQueue()
	want := transports.Message{Body: []byte("original"), Headers: h.fullHeaders()}
	h.publish(ch, transports.Publishing{RoutingKey: q, Message: want})
	want = transports.Message{Body: []byte("original"), Headers: h.fullHeaders()}
	d := h.get(ch, q, false)
	mutate(d)
	h.nack(ch, d.Tag, true)
	h.checkMessage("redelivery after the receiver changed its copy", want, h.get(ch, q, true))
}

// testGetMessageCount: Get reports how many messages are left.
func testGetMessageCount(h *harness) {
	ch, q := h.openQueue()
	h.fill(ch, q, 3)
	for left := 2; left >= 0; left-- {
		d := h.get(ch, q, true)
		h.wantCount(fmt.Sprintf("Get MessageCount with %d left", left), d.MessageCount, left, h.f.MessageCounts)
	}
}

// testTagsUnique: delivery tags are unique within a channel, across Get and
// consumers.
func testTagsUnique(h *harness) {
	ch, q := h.openQueue()
	const n = 10
	h.fill(ch, q, n)
	seen := map[uint64]string{}
	note := func(d transports.Delivery) {
		if prev, dup := seen[d.Tag]; dup {
			h.t.Fatalf("tag %d given to %q and %q", d.Tag, prev, d.Body)
		}
		seen[d.Tag] = string(d.Body)
	}
	for range n / 2 {
		note(h.get(ch, q, false))
	}
	for _, d := range h.nextN(h.consume(ch, transports.ConsumeArgs{Queue: q}), n/2) {
		note(d)
	}
	if len(seen) != n {
		h.t.Fatalf("%d distinct tags for %d deliveries", len(seen), n)
	}
}
