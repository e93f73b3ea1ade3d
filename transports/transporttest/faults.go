package transporttest

import (
	"context"
	"errors"

	"github.com/kelpmq/kelp/transports"
)

var faultTests = []test{
	{"DropConnections", testDropConnections},
	{"CloseAfterDrop", testCloseAfterDrop},
}

// drop kills every connection of the harness's Connector.
func (h *harness) drop() {
	h.t.Helper()
	h.require(h.f.Hooks.DropConnections != nil, "Hooks.DropConnections")
	h.f.Hooks.DropConnections(h.t, h.c)
}

// testDropConnections: a dropped connection reports ErrConnLost through
// itself, its channels and its consumers; its unacknowledged deliveries go
// back to the queue; new connections work.
func testDropConnections(h *harness) {
	h.require(h.f.Hooks.DropConnections != nil, "Hooks.DropConnections")
	c, ch := h.open()
	q := h.queue(ch)
	want := h.fill(ch, q, 2)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q})
	h.nextN(sub, len(want))

	h.drop()
	h.waitDone(c.Done(), "Conn.Done after the connection was dropped")
	if err := c.Err(); !errors.Is(err, transports.ErrConnLost) {
		h.t.Errorf("Conn.Err after a drop = %v, want ErrConnLost", err)
	}
	h.waitDone(ch.Done(), "Channel.Done after its connection was dropped")
	if err := ch.Err(); !errors.Is(err, transports.ErrConnLost) {
		h.t.Errorf("Channel.Err after a drop = %v, want ErrConnLost", err)
	}
	if _, err := h.ended(sub); !errors.Is(err, transports.ErrConnLost) {
		h.t.Errorf("Subscription.Err after a drop = %v, want ErrConnLost", err)
	}
	if _, err := c.Channel(h.ctx); !errors.Is(err, transports.ErrConnLost) {
		h.t.Errorf("Channel on a dropped connection: %v, want ErrConnLost", err)
	}
	if _, err := ch.Publish(h.ctx, msg("", q, "lost")); !errors.Is(err, transports.ErrConnLost) &&
		!errors.Is(err, transports.ErrChannelClosed) {
		h.t.Errorf("Publish on a channel of a dropped connection: %v, want ErrConnLost or ErrChannelClosed", err)
	}

	_, ch2 := h.open()
	ds := h.nextN(h.consume(ch2, transports.ConsumeArgs{Queue: q, NoAck: true}), len(want))
	for _, d := range ds {
		if !d.Redelivered {
			h.t.Errorf("message %q unacknowledged when its connection dropped is not marked Redelivered", d.Body)
		}
	}
}

// testCloseAfterDrop: closing a dropped connection returns and keeps the
// reason it died.
func testCloseAfterDrop(h *harness) {
	c := h.conn()
	h.drop()
	h.waitDone(c.Done(), "Conn.Done after the connection was dropped")
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	_ = c.Close(ctx) // any result: the connection is already dead
	if err := c.Err(); !errors.Is(err, transports.ErrConnLost) {
		h.t.Errorf("Conn.Err after Close of a dropped connection = %v, want ErrConnLost (a Conn dies once)", err)
	}
}
