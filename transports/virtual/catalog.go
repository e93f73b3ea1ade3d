package virtual

import (
	"context"
	"slices"
	"sync"

	"github.com/kelpmq/kelp/route"
)

// Catalog is an optional interface of a [Backend] that several processes
// share (Redis, SQL): it keeps queue bindings in the store, so that a
// publisher in one process routes to the queues bound by another. Kombu's
// Redis transport keeps them in the _kombu.binding.<exchange> sets; a
// Python publisher and a kelp consumer (or the reverse) then see the same
// routes.
//
// With a Catalog the Broker writes every queue binding through to it (on
// QueueBind, QueueUnbind and queue deletion) and routes each publish by
// the exchange's bindings as the Catalog lists them, rebuilding its router
// only when the list changed. Messages routed to a queue this process never
// declared are stored without the queue's options (TTL, limits,
// dead-lettering), which are known only to the processes that declared it.
// Exchanges are still declared per process (as in Kombu): publishing to an
// exchange this process did not declare is a 404. A publish to the
// default exchange whose routing key names no queue declared here is
// stored under that name (the queue may exist in another process), so it
// is never returned as unroutable. Exchange-to-exchange bindings are
// refused with [transports.ErrUnsupported].
type Catalog interface {
	// AddBinding records a binding of exchange. Adding it twice is a
	// no-op.
	AddBinding(ctx context.Context, exchange string, b Binding) error
	// RemoveBinding removes a binding of exchange; a missing one is not an
	// error.
	RemoveBinding(ctx context.Context, exchange string, b Binding) error
	// Bindings returns the bindings of exchange, in any order. The Broker
	// does not modify the slice. A store may return the same slice again
	// while it has no reason to think the bindings changed (it must not
	// modify it either); the Broker then reuses its router without
	// comparing the listing.
	Bindings(ctx context.Context, exchange string) ([]Binding, error)
}

// Binding is a queue binding as a [Catalog] stores it.
type Binding struct {
	// Queue is the bound queue.
	Queue string
	// Key is the binding key (a pattern on topic exchanges).
	Key string
	// Args are the binding arguments (the match table of a headers
	// exchange); nil when there are none.
	Args route.Table
	// Match, when not nil, decides which routing keys the binding matches,
	// instead of the exchange kind's matcher: a store sets it for a
	// pattern another client wrote in its own syntax (Kombu stores topic
	// bindings as regular expressions, with matching that differs from
	// AMQP's), so that the Broker routes as that client would. The Broker
	// never sets it; AddBinding and RemoveBinding ignore it.
	Match func(routingKey string) bool
	// Pattern is the text Match was made from. The Broker compares it,
	// with Queue, Key and Args, to notice that a listing changed.
	Pattern string
}

// ExchangeCatalog is an optional interface of a [Catalog] that also keeps
// exchange declarations in the store, so that a process that did not
// declare an exchange still routes to it by its kind (Kombu keeps
// exchange types per process, and a Python publisher that did not declare
// a topic exchange routes it as direct).
//
// With an ExchangeCatalog the Broker records every exchange it declares
// (PutExchange), forgets deleted ones (DeleteExchange), and adopts an
// exchange it does not know from the store (Exchange) before it answers
// a passive declare or routes a publish with a 404.
type ExchangeCatalog interface {
	// PutExchange records a declaration; recording it again overwrites.
	PutExchange(ctx context.Context, def route.Exchange) error
	// DeleteExchange forgets a declaration; a missing one is not an error.
	DeleteExchange(ctx context.Context, name string) error
	// Exchange returns the recorded declaration of name, and false when
	// there is none.
	Exchange(ctx context.Context, name string) (route.Exchange, bool, error)
}

// sharedRouter caches the router built from an exchange's bindings in a
// Catalog. Publishers hold Broker.mu for reading, so it has its own lock.
type sharedRouter struct {
	mu     sync.Mutex
	rows   []Binding // a copy of the listing the router was built from
	src    []Binding // the listing as the Catalog returned it
	router route.Router
}

// shared returns the router for rows, rebuilding it when they changed.
func (ex *exchange) shared(rows []Binding) route.Router {
	s := &ex.catalog
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.router != nil && (sameSlice(s.src, rows) || sameBindings(s.rows, rows)) {
		s.src = rows
		return s.router
	}
	s.src = rows
	r, _ := route.NewRouter(ex.def.Kind)
	var custom []Binding
	for _, b := range rows {
		if b.Match != nil {
			custom = append(custom, b)
			continue
		}
		// A binding the kind refuses (a bad x-match written by another
		// client) routes nothing, as it could never have been made here.
		_, _ = r.Bind(b.Key, b.Args, destQueue+b.Queue)
	}
	if len(custom) > 0 && ex.def.Kind != route.Fanout && ex.def.Kind != route.Headers {
		r = &matchRouter{Router: r, custom: custom}
	}
	s.rows, s.router = slices.Clone(rows), r
	return r
}

// matchRouter routes the bindings that carry their own Match besides
// those of the kind's router. Only Route is used on it.
type matchRouter struct {
	route.Router
	custom []Binding
}

// Route appends the destinations of both kinds of binding, each once.
func (m *matchRouter) Route(key string, headers route.Table, dst []string) []string {
	dst = m.Router.Route(key, headers, dst)
	n := len(dst)
	for _, b := range m.custom {
		if !b.Match(key) {
			continue
		}
		d := destQueue + b.Queue
		if !slices.Contains(dst[:n], d) && !slices.Contains(dst[n:], d) {
			dst = append(dst, d)
		}
	}
	return dst
}

// sameSlice reports whether a and b are the same non-empty slice.
func sameSlice(a, b []Binding) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// sameBindings reports whether two listings hold the same bindings in the
// same order (a store lists a set in a stable order while it is unchanged).
func sameBindings(a, b []Binding) bool {
	return slices.EqualFunc(a, b, func(x, y Binding) bool {
		return x.Queue == y.Queue && x.Key == y.Key && x.Pattern == y.Pattern &&
			(x.Match == nil) == (y.Match == nil) && tableKey(x.Args) == tableKey(y.Args)
	})
}

// queueBindingsLocked lists the bindings of a queue known to this Broker,
// by exchange, for removal from the Catalog.
func (b *Broker) queueBindingsLocked(queue string) map[string][]Binding {
	dest := destQueue + queue
	var out map[string][]Binding
	for name, ex := range b.exchanges {
		for k := range ex.bindings {
			if k.dest != dest {
				continue
			}
			if out == nil {
				out = make(map[string][]Binding)
			}
			out[name] = append(out[name], Binding{Queue: queue, Key: k.key, Args: ex.bindings[k]})
		}
	}
	return out
}

// remoteQueue returns a stand-in for a queue this process did not declare:
// messages go to the store under its name, with no options.
func (b *Broker) remoteQueue(name string) *queue {
	if q, ok := b.remotes.Load(name); ok {
		return q.(*queue)
	}
	q, _ := b.remotes.LoadOrStore(name, newQueue(b, route.Queue{Name: name}))
	return q.(*queue)
}
