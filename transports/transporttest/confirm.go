package transporttest

import (
	"context"
	"fmt"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var confirmTests = []test{
	{"SeqZeroWithoutConfirm", testSeqZeroWithoutConfirm},
	{"Sequence", testConfirmSequence},
	{"ManyInFlight", testConfirmMany},
	{"ClosedWithChannel", testConfirmClosedWithChannel},
	{"Return", testConfirmReturn},
}

var returnTests = []test{
	{"Mandatory", testReturnMandatory},
	{"DefaultExchange", testReturnDefaultExchange},
	{"ClosedWithChannel", testReturnsClosedWithChannel},
}

// confirm puts ch in confirm mode and starts draining its confirmations.
func (h *harness) confirm(ch transports.Channel) *collector[transports.Confirmation] {
	h.t.Helper()
	cf := capability[transports.Confirmer](h, ch, h.f.Confirms, "Features.Confirms")
	c, err := cf.Confirm(h.ctx)
	if err != nil {
		h.t.Fatalf("Confirm: %v", err)
	}
	again, err := cf.Confirm(h.ctx)
	if err != nil {
		h.t.Fatalf("second Confirm: %v", err)
	}
	if again != c {
		h.t.Error("a second Confirm returned a different Go channel")
	}
	return collect(c)
}

// returns starts draining ch's returned messages.
func (h *harness) returns(ch transports.Channel) *collector[transports.Return] {
	h.t.Helper()
	r := capability[transports.Returner](h, ch, h.f.Returns, "Features.Returns")
	if r.Returns() != r.Returns() {
		h.t.Error("Returns returned different Go channels on two calls")
	}
	return collect(r.Returns())
}

// checkConfirmed checks that confirmations are exactly one ack for each
// sequence number 1..n.
func (h *harness) checkConfirmed(cs []transports.Confirmation, n int) {
	h.t.Helper()
	seen := make([]int, n+1)
	for _, c := range cs {
		if c.Seq == 0 || c.Seq > uint64(n) {
			h.t.Errorf("confirmation for sequence number %d, want 1..%d", c.Seq, n)
			continue
		}
		seen[c.Seq]++
		if !c.Ack {
			h.t.Errorf("sequence number %d nacked", c.Seq)
		}
	}
	for seq := 1; seq <= n; seq++ {
		if seen[seq] != 1 {
			h.t.Errorf("sequence number %d confirmed %d times, want once", seq, seen[seq])
		}
	}
}

// testSeqZeroWithoutConfirm: outside confirm mode Publish returns 0.
func testSeqZeroWithoutConfirm(h *harness) {
	ch, q := h.openQueue()
	for range 2 {
		if seq := h.publish(ch, msg("", q, "m")); seq != 0 {
			h.t.Fatalf("Publish outside confirm mode returned sequence number %d, want 0", seq)
		}
	}
}

// testConfirmSequence: sequence numbers start at 1 and have no gaps; each
// publish is confirmed exactly once.
func testConfirmSequence(h *harness) {
	ch, q := h.openQueue()
	confirms := h.confirm(ch)
	for want := uint64(1); want <= 3; want++ {
		if seq := h.publish(ch, msg("", q, fmt.Sprint(want))); seq != want {
			h.t.Fatalf("Publish %d in confirm mode returned sequence number %d", want, seq)
		}
	}
	h.checkConfirmed(waitItems(h, confirms, 3, "confirmations"), 3)
	h.wantMessages(ch, q, 3)
	// Publishes to a missing queue through the default exchange are
	// confirmed too: the broker took responsibility and dropped them.
	if seq := h.publish(ch, msg("", h.name("missing"), "dropped")); seq != 4 {
		h.t.Fatalf("fourth Publish returned sequence number %d, want 4", seq)
	}
	h.checkConfirmed(waitItems(h, confirms, 4, "confirmations"), 4)
}

// testConfirmMany: many publishes in flight are all confirmed, each once.
func testConfirmMany(h *harness) {
	const n = 500
	ch, q := h.openQueue()
	confirms := h.confirm(ch)
	for i := 1; i <= n; i++ {
		if seq := h.publish(ch, msg("", q, fmt.Sprint(i))); seq != uint64(i) {
			h.t.Fatalf("Publish %d returned sequence number %d", i, seq)
		}
	}
	h.checkConfirmed(waitItems(h, confirms, n, "confirmations"), n)
	h.wantMessages(ch, q, n)
}

// testConfirmClosedWithChannel: the confirmation channel closes when the
// Channel closes.
func testConfirmClosedWithChannel(h *harness) {
	ch, q := h.openQueue()
	confirms := h.confirm(ch)
	h.publish(ch, msg("", q, "m"))
	waitItems(h, confirms, 1, "confirmations")
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.checkConfirmed(waitClosed(h, confirms, "confirmation channel after Close"), 1)
}

// testConfirmReturn: in confirm mode an unroutable mandatory publish comes
// back inside its Confirmation; a routable one does not.
func testConfirmReturn(h *harness) {
	h.require(h.f.Returns, "Features.Returns")
	_, ch := h.open()
	confirms := h.confirm(ch)
	var returns *collector[transports.Return]
	if r, ok := ch.(transports.Returner); ok {
		returns = collect(r.Returns())
	}
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "routed", nil)

	p := msg(ex, "unrouted", "bounce")
	p.Mandatory = true
	p.Headers = route.Table{"h": "v"}
	unrouted := h.publish(ch, p)
	p = msg(ex, "routed", "stays")
	p.Mandatory = true
	routed := h.publish(ch, p)

	for _, c := range waitItems(h, confirms, 2, "confirmations") {
		switch c.Seq {
		case unrouted:
			if c.Return == nil {
				h.t.Fatal("confirmation of an unroutable mandatory publish has no Return")
			}
			h.checkReturn(*c.Return, ex, "unrouted", "bounce")
		case routed:
			if c.Return != nil {
				h.t.Errorf("confirmation of a routed publish carries Return %+v", c.Return)
			}
		}
		if !c.Ack {
			h.t.Errorf("sequence number %d nacked", c.Seq)
		}
	}
	if returns != nil {
		h.quietReturns(returns, 0, "a return on Returns() in confirm mode")
	}
}

// checkReturn checks a returned message.
func (h *harness) checkReturn(r transports.Return, exchange, key, body string) {
	h.t.Helper()
	if r.ReplyCode != 312 {
		h.t.Errorf("Return.ReplyCode = %d, want 312 NO_ROUTE", r.ReplyCode)
	}
	if r.Exchange != exchange || r.RoutingKey != key || string(r.Body) != body {
		h.t.Errorf("Return of exchange %q key %q body %q, want %q %q %q", r.Exchange, r.RoutingKey, r.Body, exchange, key, body)
	}
}

// quietReturns checks that no return beyond the first seen arrives on a
// collector for the quiet period.
func (h *harness) quietReturns(c *collector[transports.Return], seen int, why string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, h.f.Quiet)
	defer cancel()
	items, _ := c.wait(ctx.Done(), func(items []transports.Return, _ bool) bool { return len(items) > seen })
	if len(items) > seen {
		h.t.Errorf("%s: %+v", why, items[seen])
	}
}

// testReturnMandatory: outside confirm mode an unroutable mandatory publish
// comes back on Returns(); routable or non-mandatory publishes do not.
func testReturnMandatory(h *harness) {
	_, ch := h.open()
	returns := h.returns(ch)
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "routed", nil)

	p := msg(ex, "routed", "stays")
	p.Mandatory = true
	h.publish(ch, p)
	h.send(ch, ex, "unrouted", "dropped quietly")
	p = msg(ex, "unrouted", "bounce")
	p.Mandatory = true
	p.Headers = route.Table{"h": "v"}
	p.CorrelationID = "c-1"
	h.publish(ch, p)

	r := waitItems(h, returns, 1, "returned messages")[0]
	h.checkReturn(r, ex, "unrouted", "bounce")
	if r.CorrelationID != "c-1" || len(diffTable("Headers", route.Table{"h": "v"}, r.Headers)) > 0 {
		h.t.Errorf("Return lost the message's properties or headers: %+v", r)
	}
	if got := h.getAll(ch, q); len(got) != 1 || got[0] != "stays" {
		h.t.Errorf("routed queue got %q, want [stays]", got)
	}
	h.quietReturns(returns, 1, "a second return")
}

// testReturnDefaultExchange: a mandatory publish to a missing queue through
// the default exchange is returned.
func testReturnDefaultExchange(h *harness) {
	_, ch := h.open()
	returns := h.returns(ch)
	missing := h.name("missing")
	p := msg("", missing, "bounce")
	p.Mandatory = true
	h.publish(ch, p)
	h.checkReturn(waitItems(h, returns, 1, "returned messages")[0], "", missing, "bounce")
}

// testReturnsClosedWithChannel: the Returns channel closes when the Channel
// closes.
func testReturnsClosedWithChannel(h *harness) {
	_, ch := h.open()
	returns := h.returns(ch)
	if err := ch.Close(h.ctx); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	waitClosed(h, returns, "Returns channel after Close")
}
