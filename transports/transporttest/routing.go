package transporttest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var routingTests = []test{
	{"Direct", testRouteDirect},
	{"Topic", testRouteTopic},
	{"Fanout", testRouteFanout},
	{"Headers", testRouteHeaders},
	{"DefaultExchange", testRouteDefaultExchange},
	{"Unbind", testRouteUnbind},
	{"BindTwice", testRouteBindTwice},
	{"OneCopyPerQueue", testRouteOneCopy},
	{"Unroutable", testRouteUnroutable},
}

// A binding of a routing test: a label naming the queue, its binding key
// and arguments.
type testBinding struct {
	queue string
	key   string
	args  route.Table
}

// A publish of a routing test. The body is the label; want lists the
// queue labels that must receive it, and no other queue may.
type testPublish struct {
	label   string
	key     string
	headers route.Table
	want    []string
}

// checkRouting declares an exchange of kind and one queue per distinct
// label in bindings, binds them, publishes every message and checks where
// each one went.
func (h *harness) checkRouting(kind route.Kind, bindings []testBinding, pubs []testPublish) {
	h.t.Helper()
	_, ch := h.open()
	ex := h.exchange(ch, kind)
	queues := map[string]string{}
	for _, b := range bindings {
		if _, ok := queues[b.queue]; !ok {
			queues[b.queue] = h.queue(ch)
		}
		h.bind(ch, queues[b.queue], ex, b.key, b.args)
	}
	want := map[string][]string{}
	for _, p := range pubs {
		h.publish(ch, transports.Publishing{Exchange: ex, RoutingKey: p.key,
			Message: transports.Message{Body: []byte(p.label), Headers: p.headers}})
		for _, q := range p.want {
			if _, ok := queues[q]; !ok {
				panic("transporttest: routing case names unknown queue " + q)
			}
			want[q] = append(want[q], p.label)
		}
	}
	for _, label := range slices.Sorted(maps.Keys(queues)) {
		if got := h.getAll(ch, queues[label]); !sameSet(got, want[label]) {
			h.t.Errorf("%s exchange: queue %s got %q, want %q", kind, describeBinding(label, bindings), got, want[label])
		}
	}
}

// describeBinding names a queue of a routing test by its bindings.
func describeBinding(label string, bindings []testBinding) string {
	s := label + " (bound"
	for _, b := range bindings {
		if b.queue == label {
			s += fmt.Sprintf(" %q", b.key)
			if b.args != nil {
				s += fmt.Sprintf(" %v", b.args)
			}
		}
	}
	return s + ")"
}

// testRouteDirect: direct exchanges route by routing key equality.
func testRouteDirect(h *harness) {
	h.checkRouting(route.Direct,
		[]testBinding{{"q1", "a", nil}, {"q2", "b", nil}, {"q1", "c", nil}, {"q2", "c", nil}, {"q3", "", nil}},
		[]testPublish{
			{"to-a", "a", nil, []string{"q1"}},
			{"to-b", "b", nil, []string{"q2"}},
			{"to-c", "c", nil, []string{"q1", "q2"}},
			{"to-empty", "", nil, []string{"q3"}},
			{"to-d", "d", nil, nil},
			{"to-a-prefix", "a.b", nil, nil},
		})
}

// topicKeys are the routing keys of the topic test; topicCases lists, per
// binding pattern, the keys that match under AMQP 0-9-1 rules ('*' one
// word, '#' zero or more, words split on '.', empty words count, "" has no
// words).
var topicKeys = []string{"a", "a.b", "a.b.c", "b.a", "", "a..b", "x.a.b", "a.bc"}

var topicCases = []struct {
	pattern string
	matches []string
}{
	{"a", []string{"a"}},
	{"a.b", []string{"a.b"}},
	{"*", []string{"a"}},
	{"a.*", []string{"a.b", "a.bc"}},
	{"*.b", []string{"a.b"}},
	{"*.*", []string{"a.b", "b.a", "a.bc"}},
	{"a.*.c", []string{"a.b.c"}},
	{"a.*.b", []string{"a..b"}},
	{"a.#", []string{"a", "a.b", "a.b.c", "a..b", "a.bc"}},
	{"#.b", []string{"a.b", "a..b", "x.a.b"}},
	{"a.#.c", []string{"a.b.c"}},
	{"#", topicKeys},
	{"#.a.#", []string{"a", "a.b", "a.b.c", "b.a", "a..b", "x.a.b", "a.bc"}},
	{"b.#.a", []string{"b.a"}},
}

// testRouteTopic: topic exchanges follow AMQP's word rules.
func testRouteTopic(h *harness) {
	h.require(h.f.routes(route.Topic), "topic in Features.ExchangeKinds")
	var bindings []testBinding
	want := map[string][]string{}
	for i, c := range topicCases {
		label := fmt.Sprintf("q%d", i)
		bindings = append(bindings, testBinding{label, c.pattern, nil})
		for _, k := range c.matches {
			want[k] = append(want[k], label)
		}
	}
	var pubs []testPublish
	for _, k := range topicKeys {
		pubs = append(pubs, testPublish{fmt.Sprintf("key %q", k), k, nil, want[k]})
	}
	h.checkRouting(route.Topic, bindings, pubs)
}

// testRouteFanout: fanout exchanges route to every bound queue whatever
// the keys.
func testRouteFanout(h *harness) {
	h.require(h.f.routes(route.Fanout), "fanout in Features.ExchangeKinds")
	h.checkRouting(route.Fanout,
		[]testBinding{{"q1", "", nil}, {"q2", "some.key", nil}},
		[]testPublish{
			{"empty-key", "", nil, []string{"q1", "q2"}},
			{"other-key", "other", nil, []string{"q1", "q2"}},
		})
}

// testRouteHeaders: headers exchanges match x-match all/any, ignore the
// routing key and x- arguments, and compare typed values.
func testRouteHeaders(h *harness) {
	h.require(h.f.routes(route.Headers), "headers in Features.ExchangeKinds")
	h.checkRouting(route.Headers,
		[]testBinding{
			{"all", "", route.Table{"x-match": "all", "format": "pdf", "type": "report"}},
			{"any", "", route.Table{"x-match": "any", "format": "pdf", "type": "log"}},
			{"default", "", route.Table{"format": "zip"}},
			{"int", "ignored.key", route.Table{"n": int64(5)}},
			{"x-ignored", "", route.Table{"x-match": "all", "x-custom": "a", "color": "red"}},
		},
		[]testPublish{
			{"pdf-report", "k", route.Table{"format": "pdf", "type": "report"}, []string{"all", "any"}},
			{"pdf-log", "k", route.Table{"format": "pdf", "type": "log"}, []string{"any"}},
			{"only-log", "", route.Table{"type": "log"}, []string{"any"}},
			{"only-pdf", "", route.Table{"format": "pdf"}, []string{"any"}},
			{"zip-extra", "any.key", route.Table{"format": "zip", "extra": "ignored"}, []string{"default"}},
			{"n-5", "", route.Table{"n": int64(5)}, []string{"int"}},
			{"n-6", "", route.Table{"n": int64(6)}, nil},
			{"red", "", route.Table{"color": "red"}, []string{"x-ignored"}},
			{"no-headers", "", nil, nil},
		})
}

// testRouteDefaultExchange: the default exchange routes to the queue named
// by the routing key, and drops a message for a missing queue.
func testRouteDefaultExchange(h *harness) {
	_, ch := h.open()
	q1, q2 := h.queue(ch), h.queue(ch)
	h.send(ch, "", q1, "for q1")
	h.send(ch, "", h.name("missing"), "for nobody")
	if got := h.getAll(ch, q1); !slices.Equal(got, []string{"for q1"}) {
		h.t.Errorf("q1 got %q, want [\"for q1\"]", got)
	}
	h.getEmpty(ch, q2)
	if done(ch.Done()) {
		h.t.Fatalf("publishing to a missing queue through the default exchange closed the channel: %v", ch.Err())
	}
}

// testRouteUnbind: after QueueUnbind the binding routes nothing, and
// removing a missing binding succeeds.
func testRouteUnbind(h *harness) {
	_, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "k", nil)
	h.send(ch, ex, "k", "bound")
	if err := ch.QueueUnbind(h.ctx, q, ex, "k", nil); err != nil {
		h.t.Fatalf("QueueUnbind: %v", err)
	}
	h.send(ch, ex, "k", "unbound")
	if got := h.getAll(ch, q); !slices.Equal(got, []string{"bound"}) {
		h.t.Errorf("queue got %q, want only the message published while bound", got)
	}
	if err := ch.QueueUnbind(h.ctx, q, ex, "never-bound", nil); err != nil {
		h.t.Errorf("QueueUnbind of a missing binding: %v, want nil", err)
	}
}

// testRouteBindTwice: binding twice is a no-op, so one unbind removes it.
func testRouteBindTwice(h *harness) {
	_, ch := h.open()
	ex := h.exchange(ch, route.Direct)
	q := h.queue(ch)
	h.bind(ch, q, ex, "k", nil)
	h.bind(ch, q, ex, "k", nil)
	h.send(ch, ex, "k", "once")
	if got := h.getAll(ch, q); !slices.Equal(got, []string{"once"}) {
		h.t.Errorf("queue bound twice got %q, want one copy", got)
	}
	if err := ch.QueueUnbind(h.ctx, q, ex, "k", nil); err != nil {
		h.t.Fatalf("QueueUnbind: %v", err)
	}
	h.send(ch, ex, "k", "after unbind")
	h.getEmpty(ch, q)
}

// testRouteOneCopy: a queue gets one copy of a message however many of its
// bindings match.
func testRouteOneCopy(h *harness) {
	kind, keys := route.Direct, []string{"k"}
	if h.f.routes(route.Topic) {
		kind, keys = route.Topic, []string{"k", "#", "*", "k.#"}
	}
	bindings := []testBinding{}
	for _, k := range keys {
		bindings = append(bindings, testBinding{"q", k, nil})
	}
	if kind == route.Direct {
		bindings = append(bindings, testBinding{"q", "other", nil})
	}
	h.checkRouting(kind, bindings, []testPublish{{"one-copy", "k", nil, []string{"q"}}})
}

// testRouteUnroutable: a message no binding matches is dropped without an
// error, and the channel stays usable.
func testRouteUnroutable(h *harness) {
	_, ch := h.open()
	lonely := h.exchange(ch, route.Direct)
	h.send(ch, lonely, "k", "dropped")
	h.checkRouting(route.Direct, []testBinding{{"q", "k", nil}},
		[]testPublish{{"no-match", "other", nil, nil}, {"match", "k", nil, []string{"q"}}})
	if done(ch.Done()) {
		h.t.Fatalf("an unroutable publish closed the channel: %v", ch.Err())
	}
}
