package transporttest

import (
	"context"
	"errors"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var connTests = []test{
	{"Connect", testConnect},
	{"ConnectCancelled", testConnectCancelled},
	{"CancelledContext", testCancelledContext},
	{"CloseIdempotent", testConnCloseIdempotent},
	{"ChannelAfterClose", testChannelAfterConnClose},
	{"ChannelsEndWithConn", testChannelsEndWithConn},
	{"ChannelCloseIdempotent", testChannelCloseIdempotent},
	{"ManyChannels", testManyChannels},
	{"ConnSurvivesChannelError", testConnSurvivesChannelError},
}

// testConnect: a new Conn is alive, its Done is stable, and Conns from one
// Connector are independent.
func testConnect(h *harness) {
	if h.c.Address() == "" {
		h.t.Error("Connector.Address() is empty")
	}
	a, b := h.conn(), h.conn()
	if done(a.Done()) || a.Err() != nil {
		h.t.Fatalf("new Conn: Done closed %v, Err %v; want open and nil", done(a.Done()), a.Err())
	}
	if a.Done() != a.Done() {
		h.t.Error("Conn.Done returned different channels on two calls")
	}
	if err := a.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	if done(b.Done()) || b.Err() != nil {
		h.t.Fatalf("closing one Conn ended another: Err %v", b.Err())
	}
	ch := h.channel(b)
	h.queue(ch)
}

// testConnectCancelled: Connect with an ended ctx fails with ctx's error.
func testConnectCancelled(h *harness) {
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	c, err := h.c.Connect(ctx, transports.ConnectOptions{})
	if err == nil {
		h.closeConn(c)
		h.t.Fatal("Connect with a cancelled ctx succeeded, want an error wrapping context.Canceled")
	}
	if !errors.Is(err, context.Canceled) {
		h.t.Fatalf("Connect with a cancelled ctx: %v, want an error wrapping context.Canceled", err)
	}
}

// testCancelledContext: calls with an ended ctx fail with ctx's error. A
// Publish that fails so either closed the channel (saying so with
// ErrChannelClosed) or did not publish, and consumed no sequence number.
func testCancelledContext(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	var confirms *collector[transports.Confirmation]
	if h.f.Confirms {
		confirms = h.confirm(ch)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if och, err := c.Channel(ctx); !errors.Is(err, context.Canceled) {
		if err == nil {
			_ = och.Close(h.ctx)
		}
		h.t.Errorf("Conn.Channel with a cancelled ctx: %v, want an error wrapping context.Canceled", err)
	}
	_, err := ch.Publish(ctx, msg("", q, "cancelled"))
	if !errors.Is(err, context.Canceled) {
		h.t.Fatalf("Publish with a cancelled ctx: %v, want an error wrapping context.Canceled", err)
	}
	if errors.Is(err, transports.ErrChannelClosed) {
		h.waitDone(ch.Done(), "Channel.Done after a Publish that reported closing it")
		return
	}
	if done(ch.Done()) {
		h.t.Fatalf("Publish with a cancelled ctx closed the channel (Err %v) without wrapping ErrChannelClosed", ch.Err())
	}
	if seq := h.publish(ch, msg("", q, "published")); confirms != nil && seq != 1 {
		h.t.Errorf("Publish after a failed one returned sequence number %d, want 1", seq)
	}
	if got := h.getAll(ch, q); len(got) != 1 || got[0] != "published" {
		h.t.Errorf("queue holds %q, want only the message published with a live ctx", got)
	}
}

// testConnCloseIdempotent: Close closes Done, sets Err to ErrClosed, and a
// second Close returns nil.
func testConnCloseIdempotent(h *harness) {
	c := h.conn()
	doneCh := c.Done()
	if err := c.Close(h.ctx); err != nil {
		h.t.Fatalf("first Close: %v", err)
	}
	if !done(doneCh) {
		h.t.Fatal("Done not closed when Close returned")
	}
	if err := c.Err(); !errors.Is(err, transports.ErrClosed) {
		h.t.Fatalf("Err after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(h.ctx); err != nil {
		h.t.Fatalf("second Close = %v, want nil (Close is idempotent)", err)
	}
	if err := c.Err(); !errors.Is(err, transports.ErrClosed) {
		h.t.Fatalf("Err after the second Close = %v, want ErrClosed", err)
	}
}

// testChannelAfterConnClose: a closed Conn opens no channel.
func testChannelAfterConnClose(h *harness) {
	c := h.conn()
	if err := c.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	ch, err := c.Channel(h.ctx)
	if err == nil {
		_ = ch.Close(h.ctx)
		h.t.Fatal("Channel on a closed Conn succeeded")
	}
	if !errors.Is(err, transports.ErrClosed) {
		h.t.Fatalf("Channel on a closed Conn: %v, want an error matching ErrClosed (the error of calls made after Close)", err)
	}
}

// endedByConn reports whether err is what a Channel or Subscription reports
// after its Conn was closed: ErrClosed, ErrConnLost or ErrChannelClosed.
func endedByConn(err error) bool {
	return errors.Is(err, transports.ErrClosed) || errors.Is(err, transports.ErrConnLost) ||
		errors.Is(err, transports.ErrChannelClosed)
}

// testChannelsEndWithConn: closing a Conn closes its channels and ends
// their consumers.
func testChannelsEndWithConn(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q})
	if err := c.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.waitDone(ch.Done(), "Channel.Done after its Conn closed")
	if err := ch.Err(); !errors.Is(err, transports.ErrClosed) && !errors.Is(err, transports.ErrConnLost) {
		h.t.Errorf("Channel.Err after its Conn closed = %v, want ErrClosed or ErrConnLost", err)
	}
	if _, err := ch.QueueDeclare(h.ctx, route.Queue{Name: q, Passive: true}); !endedByConn(err) {
		h.t.Errorf("call on a channel of a closed Conn: %v, want ErrClosed, ErrChannelClosed or ErrConnLost", err)
	}
	rest, err := h.ended(sub)
	if len(rest) != 0 {
		h.t.Errorf("consumer of an empty queue handed out %d deliveries", len(rest))
	}
	if !endedByConn(err) {
		h.t.Errorf("Subscription.Err after its Conn closed = %v, want the Channel's or Conn's error", err)
	}
}

// testChannelCloseIdempotent: Channel.Close is idempotent, sets Err to
// ErrClosed, fails later calls and leaves the Conn alive.
func testChannelCloseIdempotent(h *harness) {
	c, ch := h.open()
	doneCh := ch.Done()
	if ch.Done() != doneCh {
		h.t.Error("Channel.Done returned different channels on two calls")
	}
	if done(doneCh) || ch.Err() != nil {
		h.t.Fatalf("new Channel: Done closed %v, Err %v", done(doneCh), ch.Err())
	}
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	if !done(doneCh) {
		h.t.Fatal("Channel.Done not closed when Close returned")
	}
	if err := ch.Err(); !errors.Is(err, transports.ErrClosed) {
		h.t.Fatalf("Channel.Err after Close = %v, want ErrClosed", err)
	}
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("second Close = %v, want nil", err)
	}
	err := ch.Qos(h.ctx, transports.Qos{})
	if !errors.Is(err, transports.ErrClosed) && !errors.Is(err, transports.ErrChannelClosed) {
		h.t.Fatalf("call after Close: %v, want ErrClosed or ErrChannelClosed", err)
	}
	if done(c.Done()) {
		h.t.Fatalf("closing a Channel closed its Conn: %v", c.Err())
	}
	h.queue(h.channel(c))
}

// testManyChannels: one Conn carries many channels at once, each usable.
func testManyChannels(h *harness) {
	const n = 16
	c := h.conn()
	chans := make([]transports.Channel, n)
	for i := range chans {
		chans[i] = h.channel(c)
	}
	q := h.queue(chans[0])
	for i, ch := range chans {
		h.send(ch, "", q, numbered("m", n)[i])
	}
	for _, ch := range chans {
		if err := ch.Close(h.ctx); err != nil {
			h.t.Fatalf("Channel.Close: %v", err)
		}
	}
	ch := h.channel(c)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q, NoAck: true})
	if got := h.nextN(sub, n); len(got) != n {
		h.t.Fatalf("got %d messages, want %d", len(got), n)
	}
}

// testConnSurvivesChannelError: a channel-level error closes that channel
// only.
func testConnSurvivesChannelError(h *harness) {
	c, ch := h.open()
	other := h.channel(c)
	_, err := ch.QueueDeclare(h.ctx, route.Queue{Name: h.name("missing"), Passive: true})
	h.wantChannelError(ch, err, transports.ErrNotFound, "passive declare of a missing queue")
	if done(c.Done()) {
		h.t.Fatalf("a channel error closed the Conn: %v", c.Err())
	}
	if done(other.Done()) {
		h.t.Fatalf("a channel error closed another channel: %v", other.Err())
	}
	q := h.queue(other)
	h.send(other, "", q, "still works")
	if d := h.get(other, q, true); string(d.Body) != "still works" {
		h.t.Fatalf("Get = %q", d.Body)
	}
	h.queue(h.channel(c))
}
