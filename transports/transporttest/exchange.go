package transporttest

import (
	"errors"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var exchangeTests = []test{
	{"DeclareEachKind", testExchangeDeclareKinds},
	{"PassiveMissing", testExchangePassiveMissing},
	{"RedeclareOtherKind", testExchangeRedeclareKind},
	{"RedeclareOtherDurability", testExchangeRedeclareDurability},
	{"UnsupportedKinds", testExchangeUnsupportedKinds},
	{"DeleteMissing", testExchangeDeleteMissing},
	{"DeleteIfUnused", testExchangeDeleteIfUnused},
	{"DeleteRemovesBindings", func(h *harness) { testDeleteRemovesBindings(h, false) }},
	{"PublishToMissing", testPublishToMissingExchange},
	{"BindMissing", testBindMissing},
}

// testExchangeDeclareKinds: every supported kind declares, redeclares
// identically, passes a passive declare and deletes.
func testExchangeDeclareKinds(h *harness) {
	c, ch := h.open()
	for _, kind := range h.f.ExchangeKinds {
		ex := route.Exchange{Name: h.name(string(kind)), Kind: kind}
		h.declareExchange(ch, ex)
		if err := ch.ExchangeDeclare(h.ctx, ex); err != nil {
			h.t.Fatalf("redeclaring %s exchange identically: %v", kind, err)
		}
		if err := ch.ExchangeDeclare(h.ctx, route.Exchange{Name: ex.Name, Kind: kind, Passive: true}); err != nil {
			h.t.Fatalf("passive declare of an existing %s exchange: %v", kind, err)
		}
		if err := ch.ExchangeDelete(h.ctx, ex.Name, false); err != nil {
			h.t.Fatalf("ExchangeDelete(%s exchange): %v", kind, err)
		}
		if h.exchangeExists(c, ex.Name) {
			h.t.Fatalf("%s exchange still exists after ExchangeDelete", kind)
		}
	}
}

// testExchangePassiveMissing: a passive declare of a missing exchange is 404
// and closes the channel.
func testExchangePassiveMissing(h *harness) {
	_, ch := h.open()
	err := ch.ExchangeDeclare(h.ctx, route.Exchange{Name: h.name("missing"), Kind: route.Direct, Passive: true})
	h.wantChannelError(ch, err, transports.ErrNotFound, "passive ExchangeDeclare of a missing exchange")
}

// testExchangeRedeclareKind: redeclaring with another kind is 406.
func testExchangeRedeclareKind(h *harness) {
	var other route.Kind
	for _, k := range h.f.ExchangeKinds {
		if k != route.Direct {
			other = k
			break
		}
	}
	h.require(other != "", "a second entry in Features.ExchangeKinds")
	_, ch := h.open()
	name := h.exchange(ch, route.Direct)
	err := ch.ExchangeDeclare(h.ctx, route.Exchange{Name: name, Kind: other})
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "redeclaring a direct exchange as "+string(other))
}

// testExchangeRedeclareDurability: redeclaring with the other durability is
// 406.
func testExchangeRedeclareDurability(h *harness) {
	h.require(h.f.Durability, "Features.Durability")
	_, ch := h.open()
	name := h.exchange(ch, route.Direct)
	err := ch.ExchangeDeclare(h.ctx, route.Exchange{Name: name, Kind: route.Direct, Durable: true})
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "redeclaring a transient exchange as durable")
}

// testExchangeUnsupportedKinds: kinds the transport does not route are
// refused with ErrUnsupported.
func testExchangeUnsupportedKinds(h *harness) {
	var missing []route.Kind
	for _, k := range allKinds {
		if !h.f.routes(k) {
			missing = append(missing, k)
		}
	}
	h.require(len(missing) > 0, "an exchange kind missing from Features.ExchangeKinds")
	c := h.conn()
	for _, kind := range missing {
		ch := h.channel(c)
		name := h.name(string(kind))
		err := ch.ExchangeDeclare(h.ctx, route.Exchange{Name: name, Kind: kind})
		if err == nil {
			h.track("", name)
			h.t.Errorf("declaring a %s exchange succeeded, but Features.ExchangeKinds does not list it", kind)
			continue
		}
		if !errors.Is(err, transports.ErrUnsupported) {
			h.t.Errorf("declaring a %s exchange: %v, want an error wrapping ErrUnsupported", kind, err)
		}
	}
}

// testExchangeDeleteMissing: deleting a missing exchange succeeds.
func testExchangeDeleteMissing(h *harness) {
	_, ch := h.open()
	if err := ch.ExchangeDelete(h.ctx, h.name("missing"), false); err != nil {
		h.t.Fatalf("ExchangeDelete of a missing exchange: %v, want nil", err)
	}
	if err := ch.ExchangeDelete(h.ctx, h.name("missing"), true); err != nil {
		h.t.Fatalf("ExchangeDelete(ifUnused) of a missing exchange: %v, want nil", err)
	}
}

// testExchangeDeleteIfUnused: ifUnused refuses an exchange with bindings
// (406) and deletes one without.
func testExchangeDeleteIfUnused(h *harness) {
	c, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "k", nil)
	err := ch.ExchangeDelete(h.ctx, ex, true)
	h.wantChannelError(ch, err, transports.ErrPreconditionFailed, "ExchangeDelete(ifUnused) of a bound exchange")
	ch = h.channel(c)
	if !h.exchangeExists(c, ex) {
		h.t.Fatal("a refused ExchangeDelete(ifUnused) deleted the exchange")
	}
	if err := ch.QueueUnbind(h.ctx, q, ex, "k", nil); err != nil {
		h.t.Fatalf("QueueUnbind: %v", err)
	}
	if err := ch.ExchangeDelete(h.ctx, ex, true); err != nil {
		h.t.Fatalf("ExchangeDelete(ifUnused) of an unbound exchange: %v", err)
	}
	if h.exchangeExists(c, ex) {
		h.t.Fatal("exchange still exists after ExchangeDelete(ifUnused)")
	}
}

// testDeleteRemovesBindings: an exchange (or queue) deleted and declared
// again has no bindings.
func testDeleteRemovesBindings(h *harness, deleteQueue bool) {
	_, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "k", nil)
	if deleteQueue {
		if _, err := ch.QueueDelete(h.ctx, q, transports.QueueDeleteOptions{}); err != nil {
			h.t.Fatalf("QueueDelete: %v", err)
		}
		h.declareQueue(ch, route.Queue{Name: q})
	} else {
		if err := ch.ExchangeDelete(h.ctx, ex, false); err != nil {
			h.t.Fatalf("ExchangeDelete: %v", err)
		}
		h.declareExchange(ch, route.Exchange{Name: ex, Kind: route.Direct})
	}
	h.send(ch, ex, "k", "after re-declare")
	h.getEmpty(ch, q)
}

// testPublishToMissingExchange: publishing to a missing exchange is a 404
// channel error, reported by Publish or by closing the channel.
func testPublishToMissingExchange(h *harness) {
	_, ch := h.open()
	_, err := ch.Publish(h.ctx, msg(h.name("missing"), "k", "lost"))
	h.wantChannelError(ch, err, transports.ErrNotFound, "Publish to a missing exchange")
}

// testBindMissing: binding to a missing exchange or queue is 404.
func testBindMissing(h *harness) {
	c, ch := h.open()
	q := h.queue(ch)
	ex := h.exchange(ch, route.Direct)
	err := ch.QueueBind(h.ctx, q, h.name("missing"), "k", nil)
	h.wantChannelError(ch, err, transports.ErrNotFound, "QueueBind to a missing exchange")
	ch = h.channel(c)
	err = ch.QueueBind(h.ctx, h.name("missing"), ex, "k", nil)
	h.wantChannelError(ch, err, transports.ErrNotFound, "QueueBind of a missing queue")
}
