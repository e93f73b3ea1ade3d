package transporttest

import (
	"errors"
	"slices"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var capabilityTests = []test{
	{"ExchangeBindings", testExchangeBindings},
	{"ExchangeBindMissing", testExchangeBindMissing},
	{"Recover", testRecover},
	{"Persistence", testPersistence},
	{"BlockNotifier", testBlockNotifier},
	{"BlockEvents", testBlockEvents},
}

// exchangeBinder returns ch as an ExchangeBinder.
func (h *harness) exchangeBinder(ch transports.Channel) transports.ExchangeBinder {
	h.t.Helper()
	return capability[transports.ExchangeBinder](h, ch, h.f.ExchangeBindings, "Features.ExchangeBindings")
}

// testExchangeBindings: an exchange-to-exchange binding forwards matching
// messages until it is removed.
func testExchangeBindings(h *harness) {
	_, ch := h.open()
	eb := h.exchangeBinder(ch)
	src := h.exchange(ch, route.Direct)
	dstKind := route.Direct
	if h.f.routes(route.Fanout) {
		dstKind = route.Fanout
	}
	dst := h.exchange(ch, dstKind)
	q := h.queue(ch)
	h.bind(ch, q, dst, "k", nil)
	if err := eb.ExchangeBind(h.ctx, dst, src, "k", nil); err != nil {
		h.t.Fatalf("ExchangeBind: %v", err)
	}
	h.send(ch, src, "k", "forwarded")
	h.send(ch, src, "other", "not matching")
	if got := h.getAll(ch, q); !slices.Equal(got, []string{"forwarded"}) {
		h.t.Fatalf("queue behind the exchange binding got %q, want [forwarded]", got)
	}
	if err := eb.ExchangeUnbind(h.ctx, dst, src, "k", nil); err != nil {
		h.t.Fatalf("ExchangeUnbind: %v", err)
	}
	h.send(ch, src, "k", "after unbind")
	h.getEmpty(ch, q)
	if err := eb.ExchangeUnbind(h.ctx, dst, src, "never-bound", nil); err != nil {
		h.t.Errorf("ExchangeUnbind of a missing binding: %v, want nil", err)
	}
}

// testExchangeBindMissing: binding from or to a missing exchange is 404.
func testExchangeBindMissing(h *harness) {
	c, ch := h.open()
	eb := h.exchangeBinder(ch)
	ex := h.exchange(ch, route.Direct)
	err := eb.ExchangeBind(h.ctx, ex, h.name("missing"), "k", nil)
	h.wantChannelError(ch, err, transports.ErrNotFound, "ExchangeBind from a missing source")
	ch = h.channel(c)
	err = h.exchangeBinder(ch).ExchangeBind(h.ctx, h.name("missing"), ex, "k", nil)
	h.wantChannelError(ch, err, transports.ErrNotFound, "ExchangeBind to a missing destination")
}

// testRecover: Recover with requeue redelivers every unacknowledged
// delivery, marked redelivered; requeue false redelivers too or is
// unsupported.
func testRecover(h *harness) {
	h.require(h.f.Recover, "Features.Recover")
	_, ch := h.open()
	rc := capability[transports.Recoverer](h, ch, h.f.Recover, "Features.Recover")
	q := h.queue(ch)
	want := h.fill(ch, q, 2)
	sub := h.consume(ch, transports.ConsumeArgs{Queue: q})
	h.nextN(sub, 2)
	if err := rc.Recover(h.ctx, true); err != nil {
		h.t.Fatalf("Recover(requeue): %v", err)
	}
	again := h.nextN(sub, 2)
	if got := bodies(again); !sameSet(got, want) {
		h.t.Fatalf("after Recover got %q, want %q", got, want)
	}
	for _, d := range again {
		if !d.Redelivered {
			h.t.Errorf("message %q redelivered by Recover not marked Redelivered", d.Body)
		}
	}
	switch err := rc.Recover(h.ctx, false); {
	case errors.Is(err, transports.ErrUnsupported):
		h.t.Log("Recover(requeue false) is unsupported")
	case err != nil:
		h.t.Fatalf("Recover(requeue false): %v, want nil or ErrUnsupported", err)
	default:
		again = h.nextN(sub, 2)
	}
	if err := ch.Ack(h.ctx, again[1].Tag, true); err != nil {
		h.t.Fatalf("Ack(multiple) after Recover: %v", err)
	}
}

// testPersistence: messages published on one connection are there for the
// next.
func testPersistence(h *harness) {
	h.require(h.f.Persistence, "Features.Persistence")
	c1, ch := h.open()
	q := h.declareQueue(ch, route.Queue{Name: h.name("durable"), Durable: true}).Name
	p := msg("", q, "kept")
	p.DeliveryMode = route.Persistent
	h.publish(ch, p)
	if err := c1.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	_, ch2 := h.open()
	if d := h.next(h.consume(ch2, transports.ConsumeArgs{Queue: q, NoAck: true})); string(d.Body) != "kept" {
		h.t.Fatalf("new connection got %q, want %q", d.Body, "kept")
	}
}

// blockNotifier returns c as a BlockNotifier.
func (h *harness) blockNotifier(c transports.Conn) transports.BlockNotifier {
	h.t.Helper()
	return capability[transports.BlockNotifier](h, c, h.f.BlockNotifications, "Features.BlockNotifications")
}

// testBlockNotifier: Blocked is stable and closes with the Conn.
func testBlockNotifier(h *harness) {
	c := h.conn()
	bn := h.blockNotifier(c)
	if bn.Blocked() != bn.Blocked() {
		h.t.Error("Blocked returned different Go channels on two calls")
	}
	events := collect(bn.Blocked())
	if err := c.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	waitClosed(h, events, "Blocked channel after Close")
}

// testBlockEvents: the broker blocking and unblocking publishers is
// reported in order.
func testBlockEvents(h *harness) {
	h.require(h.f.Hooks.Block != nil, "Hooks.Block")
	c := h.conn()
	events := collect(h.blockNotifier(c).Blocked())
	h.f.Hooks.Block(h.t, h.c, true)
	got := waitItems(h, events, 1, "Blocking events")
	if !got[len(got)-1].Active {
		h.t.Fatalf("after blocking the broker the latest event is %+v, want Active", got[len(got)-1])
	}
	n := len(got)
	h.f.Hooks.Block(h.t, h.c, false)
	got = waitItems(h, events, n+1, "Blocking events")
	if got[len(got)-1].Active {
		h.t.Fatalf("after unblocking the broker the latest event is %+v, want not Active", got[len(got)-1])
	}
}
