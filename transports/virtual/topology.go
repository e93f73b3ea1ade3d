package virtual

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Destinations in a router are prefixed by their type, so that one router
// holds queue and exchange (exchange-to-exchange) bindings.
const (
	destQueue    = "q"
	destExchange = "e"
)

// exchange is a declared exchange. Its fields are guarded by Broker.mu; the
// router has its own lock and is read under Broker.mu.RLock.
type exchange struct {
	def    route.Exchange
	router route.Router
	// e2e counts the bindings whose destination is an exchange; routing
	// walks exchange graphs only when it is not zero.
	e2e int
	// bindings mirrors the router's bindings (with their arguments) for
	// inspection and for removal from a Catalog.
	bindings map[bindKey]route.Table
	// catalog is the router built from a shared Catalog's bindings.
	catalog sharedRouter
}

// bindKey identifies a binding of an exchange.
type bindKey struct{ dest, key, args string }

// declareExchange implements exchange.declare. With an ExchangeCatalog an
// exchange declared by another process is adopted first (so passive
// declares find it and redeclarations are compared with it), and a new
// declaration is recorded there.
func (b *Broker) declareExchange(ctx context.Context, ex route.Exchange) error {
	if b.xcatalog != nil && ex.Name != "" {
		if err := b.adoptExchange(ctx, ex.Name); err != nil {
			return err
		}
		created, err := b.declareExchangeLocal(ex)
		if err != nil || !created {
			return err
		}
		b.mu.RLock()
		def := b.exchanges[ex.Name]
		b.mu.RUnlock()
		if def == nil {
			return nil
		}
		if err := b.xcatalog.PutExchange(ctx, def.def); err != nil {
			return storeError("exchange.declare", err)
		}
		return nil
	}
	_, err := b.declareExchangeLocal(ex)
	return err
}

// adoptExchange copies the declaration of an exchange this Broker does
// not know from the ExchangeCatalog, when the store has one.
func (b *Broker) adoptExchange(ctx context.Context, name string) error {
	if b.xcatalog == nil || name == "" {
		return nil
	}
	b.mu.RLock()
	known := b.exchanges[name] != nil
	b.mu.RUnlock()
	if known {
		return nil
	}
	def, ok, err := b.xcatalog.Exchange(ctx, name)
	if err != nil {
		return storeError("exchange.declare", err)
	}
	if !ok || !def.Kind.Valid() {
		return nil
	}
	r, err := route.NewRouter(def.Kind)
	if err != nil {
		return nil
	}
	def.Passive, def.NoDeclare = false, false
	b.mu.Lock()
	if b.exchanges[name] == nil {
		b.exchanges[name] = &exchange{def: def, router: r}
	}
	b.mu.Unlock()
	return nil
}

// declareExchangeLocal declares an exchange in the Broker's own tables
// and reports whether it created it.
func (b *Broker) declareExchangeLocal(ex route.Exchange) (created bool, err error) {
	if ex.Kind == "" {
		ex.Kind = route.Direct
	}
	if ex.Name == "" {
		if ex.Passive {
			return false, nil
		}
		return false, errDefaultExchange()
	}
	if !ex.Kind.Valid() {
		return false, errUnsupportedKind(ex.Kind)
	}
	if err := ex.Validate(); err != nil {
		return false, brokerError(406, "%v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.exchanges[ex.Name]
	switch {
	case ex.Passive && cur == nil:
		return false, errNoExchange(ex.Name)
	case ex.Passive:
		return false, nil
	case cur != nil:
		return false, exchangeEquivalent(cur.def, ex)
	case strings.HasPrefix(ex.Name, "amq."):
		return false, brokerError(403, "exchange name '%s' contains reserved prefix 'amq.*'", ex.Name)
	}
	r, err := route.NewRouter(ex.Kind)
	if err != nil {
		return false, errUnsupportedKind(ex.Kind)
	}
	def := ex.Clone()
	def.Passive, def.NoDeclare = false, false
	b.exchanges[ex.Name] = &exchange{def: def, router: r}
	return true, nil
}

func errUnsupportedKind(k route.Kind) error {
	return fmt.Errorf("virtual: exchange type %q: %w", k, transports.ErrUnsupported)
}

// exchangeEquivalent reports, as RabbitMQ does, the first property in which
// a redeclaration differs from the declared exchange.
func exchangeEquivalent(cur, ex route.Exchange) error {
	const what = "exchange"
	switch {
	case cur.Kind != ex.Kind:
		return errInequivalent(what, ex.Name, "type", ex.Kind, cur.Kind)
	case cur.Durable != ex.Durable:
		return errInequivalent(what, ex.Name, "durable", ex.Durable, cur.Durable)
	case cur.AutoDelete != ex.AutoDelete:
		return errInequivalent(what, ex.Name, "auto_delete", ex.AutoDelete, cur.AutoDelete)
	case cur.Internal != ex.Internal:
		return errInequivalent(what, ex.Name, "internal", ex.Internal, cur.Internal)
	}
	return argumentsEquivalent(what, ex.Name, cur.Arguments, ex.Arguments)
}

// argumentsEquivalent compares two argument tables by value (an int 5 and
// an int64 5 are equal).
func argumentsEquivalent(what, name string, cur, got route.Table) error {
	if tableKey(cur) == tableKey(got) {
		return nil
	}
	for k, v := range got {
		if w, ok := cur[k]; !ok || tableKey(route.Table{k: v}) != tableKey(route.Table{k: w}) {
			return errInequivalent(what, name, k, v, cur[k])
		}
	}
	for k, v := range cur {
		if _, ok := got[k]; !ok {
			return errInequivalent(what, name, k, nil, v)
		}
	}
	return nil
}

// tableKey is a canonical encoding of t (empty and nil are the same).
func tableKey(t route.Table) string {
	if len(t) == 0 {
		return ""
	}
	return route.Exchange{Arguments: t}.Key()
}

// deleteExchange implements exchange.delete. With a Catalog, the
// exchange's bindings are removed from it too, whoever made them, as
// deleting an exchange deletes its bindings.
func (b *Broker) deleteExchange(ctx context.Context, name string, ifUnused bool) error {
	if b.catalog == nil || name == "" || strings.HasPrefix(name, "amq.") {
		return b.deleteExchangeLocal(name, ifUnused)
	}
	rows, err := b.catalog.Bindings(ctx, name)
	if err != nil {
		return storeError("exchange.delete", err)
	}
	if ifUnused && len(rows) > 0 {
		return brokerError(406, "exchange '%s' in vhost '%s' in use", name, vhost)
	}
	if err := b.deleteExchangeLocal(name, ifUnused); err != nil {
		return err
	}
	for _, r := range rows {
		if err == nil {
			err = b.catalog.RemoveBinding(ctx, name, r)
		}
	}
	if err == nil && b.xcatalog != nil {
		err = b.xcatalog.DeleteExchange(ctx, name)
	}
	if err != nil {
		return storeError("exchange.delete", err)
	}
	return nil
}

// deleteExchangeLocal deletes an exchange from the Broker's own tables.
func (b *Broker) deleteExchangeLocal(name string, ifUnused bool) error {
	if name == "" {
		return errDefaultExchange()
	}
	if strings.HasPrefix(name, "amq.") {
		return brokerError(403, "operation not permitted on exchange '%s' in vhost '%s'", name, vhost)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ex := b.exchanges[name]
	if ex == nil {
		return nil
	}
	if ifUnused && ex.router.Len() > 0 {
		return brokerError(406, "exchange '%s' in vhost '%s' in use", name, vhost)
	}
	b.removeExchangeLocked(name)
	return nil
}

// removeExchangeLocked deletes an exchange and every binding to it from
// other exchanges, auto-deleting sources left without bindings.
func (b *Broker) removeExchangeLocked(name string) {
	delete(b.exchanges, name)
	b.unbindDestLocked(destExchange + name)
}

// unbindDestLocked removes every binding to dest from every exchange and
// deletes the auto-delete exchanges this leaves without bindings.
func (b *Broker) unbindDestLocked(dest string) {
	for srcName, src := range b.exchanges {
		n := src.router.UnbindDest(dest)
		if n == 0 {
			continue
		}
		for k := range src.bindings {
			if k.dest == dest {
				delete(src.bindings, k)
			}
		}
		if dest[:1] == destExchange {
			src.e2e -= n
		}
		if src.def.AutoDelete && src.router.Len() == 0 {
			b.removeExchangeLocked(srcName)
			b.noteAutoDeletedLocked(srcName)
		}
	}
}

// bind adds a binding from exchange source to dest (a prefixed
// destination) after checking that both exist. With a Catalog, a queue
// binding is recorded there too.
func (b *Broker) bind(ctx context.Context, c *Conn, dest, source, key string, args route.Table) error {
	if source == "" || (dest[:1] == destExchange && dest[1:] == "") {
		return errDefaultExchange()
	}
	if b.catalog != nil && dest[:1] == destExchange {
		return fmt.Errorf("virtual: exchange-to-exchange bindings with a shared catalog: %w", transports.ErrUnsupported)
	}
	if err := b.adoptExchange(ctx, source); err != nil {
		return err
	}
	added, err := b.bindLocal(c, dest, source, key, args)
	if err != nil || !added || b.catalog == nil {
		return err
	}
	row := Binding{Queue: dest[1:], Key: key, Args: args}
	if err := b.catalog.AddBinding(ctx, source, row); err != nil {
		_ = b.unbindLocal(c, dest, source, key, args)
		return storeError("queue.bind", err)
	}
	return nil
}

// bindLocal adds a binding to the Broker's own tables.
func (b *Broker) bindLocal(c *Conn, dest, source, key string, args route.Table) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkDestLocked(c, dest); err != nil {
		return false, err
	}
	src := b.exchanges[source]
	if src == nil {
		return false, errNoExchange(source)
	}
	added, err := src.router.Bind(key, args, dest)
	if err != nil {
		return false, brokerError(406, "invalid binding arguments: %v", err)
	}
	if !added {
		return false, nil
	}
	if dest[:1] == destExchange {
		src.e2e++
	}
	if src.bindings == nil {
		src.bindings = make(map[bindKey]route.Table)
	}
	src.bindings[bindKey{dest, key, tableKey(args)}] = args.Clone()
	return true, nil
}

// checkDestLocked reports a missing or foreign-exclusive destination.
func (b *Broker) checkDestLocked(c *Conn, dest string) error {
	name := dest[1:]
	if dest[:1] == destExchange {
		if b.exchanges[name] == nil {
			return errNoExchange(name)
		}
		return nil
	}
	q := b.queues[name]
	if q == nil {
		return errNoQueue(name)
	}
	return q.access(c)
}

// unbind removes a binding; a missing binding, queue or exchange is not an
// error. An auto-delete exchange left without bindings is deleted. With a
// Catalog, a queue binding is removed from it too.
func (b *Broker) unbind(ctx context.Context, c *Conn, dest, source, key string, args route.Table) error {
	if source == "" {
		return errDefaultExchange()
	}
	if err := b.unbindLocal(c, dest, source, key, args); err != nil {
		return err
	}
	b.forgetAutoDeleted(ctx)
	if b.catalog != nil && dest[:1] == destQueue {
		if err := b.catalog.RemoveBinding(ctx, source, Binding{Queue: dest[1:], Key: key, Args: args}); err != nil {
			return storeError("queue.unbind", err)
		}
	}
	return nil
}

// unbindLocal removes a binding from the Broker's own tables.
func (b *Broker) unbindLocal(c *Conn, dest, source, key string, args route.Table) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[dest[1:]]; dest[:1] == destQueue && q != nil {
		if err := q.access(c); err != nil {
			return err
		}
	}
	src := b.exchanges[source]
	if src == nil || !src.router.Unbind(key, args, dest) {
		return nil
	}
	delete(src.bindings, bindKey{dest, key, tableKey(args)})
	if dest[:1] == destExchange {
		src.e2e--
	}
	if src.def.AutoDelete && src.router.Len() == 0 {
		b.removeExchangeLocked(source)
		b.noteAutoDeletedLocked(source)
	}
	return nil
}

// route appends to s.queues the queues a message published to exName with
// key and headers goes to, each once. publish reports a client publish,
// which internal exchanges refuse. A missing exchange is a 404.
func (b *Broker) route(ctx context.Context, exName, key string, headers route.Table, s *scratch, publish bool) error {
	s.queues = s.queues[:0]
	s.fanout = false
	var rows []Binding
	if err := b.adoptExchange(ctx, exName); err != nil {
		return err
	}
	if b.catalog != nil && exName != "" {
		var err error
		if rows, err = b.catalog.Bindings(ctx, exName); err != nil {
			return storeError("basic.publish", err)
		}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if exName == "" {
		if q := b.queues[key]; q != nil {
			s.queues = append(s.queues, q)
		} else if b.catalog != nil {
			s.queues = append(s.queues, b.remoteQueue(key))
		}
		return nil
	}
	ex := b.exchanges[exName]
	if ex == nil {
		return errNoExchange(exName)
	}
	if publish && ex.def.Internal {
		return brokerError(403, "cannot publish to internal exchange '%s' in vhost '%s'", exName, vhost)
	}
	s.fanout = ex.def.Kind == route.Fanout
	if b.catalog != nil {
		s.names = ex.shared(rows).Route(key, headers, s.names[:0])
		for _, d := range s.names {
			q := b.queues[d[1:]]
			if q == nil {
				q = b.remoteQueue(d[1:])
			}
			s.queues = append(s.queues, q)
		}
		return nil
	}
	s.names = ex.router.Route(key, headers, s.names[:0])
	if ex.e2e == 0 {
		for _, d := range s.names {
			if q := b.queues[d[1:]]; q != nil {
				s.queues = append(s.queues, q)
			}
		}
		return nil
	}
	// Walk the exchange graph breadth first; each exchange routes once
	// (cycles are allowed), each queue receives once.
	s.exs = append(s.exs[:0], ex)
	for i := 0; i < len(s.exs); i++ {
		if i > 0 {
			s.names = s.exs[i].router.Route(key, headers, s.names[:0])
		}
		for _, d := range s.names {
			switch d[:1] {
			case destQueue:
				if q := b.queues[d[1:]]; q != nil && !containsPtr(s.queues, q) {
					s.queues = append(s.queues, q)
				}
			case destExchange:
				if e := b.exchanges[d[1:]]; e != nil && !containsPtr(s.exs, e) {
					s.exs = append(s.exs, e)
				}
			}
		}
	}
	clear(s.exs)
	return nil
}

func containsPtr[T any](s []*T, p *T) bool {
	for _, x := range s {
		if x == p {
			return true
		}
	}
	return false
}

// declareQueue implements queue.declare for connection c.
func (b *Broker) declareQueue(ctx context.Context, c *Conn, rq route.Queue) (transports.QueueInfo, error) {
	if strings.HasPrefix(rq.Name, "amq.") && !rq.Passive {
		return transports.QueueInfo{}, brokerError(403, "queue name '%s' contains reserved prefix 'amq.*'", rq.Name)
	}
	n, err := rq.Normalize()
	if err != nil {
		return transports.QueueInfo{}, brokerError(406, "%v", err)
	}
	if n.Name == "" {
		if n.Passive {
			return transports.QueueInfo{}, errNoQueue("")
		}
		n.Name = randomName("amq.gen-")
	}
	b.mu.Lock()
	q := b.queues[n.Name]
	switch {
	case q != nil:
		err = q.access(c)
		if err == nil && !n.Passive {
			err = q.equivalent(n)
		}
		if err == nil {
			q.touch()
		}
	case n.Passive:
		err = errNoQueue(n.Name)
	default:
		q, err = b.createQueueLocked(ctx, c, n)
	}
	if err != nil {
		b.mu.Unlock()
		return transports.QueueInfo{}, err
	}
	consumers := len(q.consumers)
	b.mu.Unlock()
	l, err := b.backend.Len(ctx, q.name)
	if err != nil {
		return transports.QueueInfo{}, storeError("queue.declare", err)
	}
	return transports.QueueInfo{Name: q.name, Messages: l.Messages, Consumers: consumers}, nil
}

// createQueueLocked makes a new queue in the store and the topology.
func (b *Broker) createQueueLocked(ctx context.Context, c *Conn, def route.Queue) (*queue, error) {
	q := newQueue(b, def)
	if def.Exclusive {
		q.owner = c
	}
	if err := b.backend.CreateQueue(ctx, q.name, QueueOptions{MaxPriority: def.MaxPriority}); err != nil {
		return nil, storeError("queue.declare", err)
	}
	if q.maxBytes >= 0 {
		if l, err := b.backend.Len(ctx, q.name); err == nil && l.Bytes < 0 {
			_, _ = b.backend.DeleteQueue(ctx, q.name)
			return nil, fmt.Errorf("virtual: queue %q: x-max-length-bytes: the store cannot count bytes: %w",
				q.name, transports.ErrUnsupported)
		}
	}
	b.queues[q.name] = q
	q.touch()
	return q, nil
}

// deletion is a queue removed from the topology whose store and consumers
// still have to be cleaned up, outside Broker.mu.
type deletion struct {
	q         *queue
	consumers []*consumer
	bindings  map[string][]Binding // to remove from a shared Catalog, by exchange
}

// unlinkQueueLocked removes q from the topology and its bindings.
func (b *Broker) unlinkQueueLocked(q *queue) []deletion {
	if q.deleted {
		return nil
	}
	delete(b.queues, q.name)
	q.deleted = true
	d := deletion{q: q, consumers: q.consumers}
	if b.catalog != nil {
		d.bindings = b.queueBindingsLocked(q.name)
	}
	b.unbindDestLocked(destQueue + q.name)
	q.consumers = nil
	return []deletion{d}
}

// finishQueueDelete cancels the consumers of a deleted queue, stops its
// timers and deletes it from the store, returning its ready count.
func (b *Broker) finishQueueDelete(ctx context.Context, d deletion) int {
	d.q.stopTimers()
	for _, c := range d.consumers {
		c.stop(errCancelledBy("queue '" + d.q.name + "' deleted"))
	}
	for ex, rows := range d.bindings {
		for _, r := range rows {
			if err := b.catalog.RemoveBinding(ctx, ex, r); err != nil {
				b.log.Warn("virtual: removing a binding from the catalog failed", "queue", d.q.name, "err", err)
			}
		}
	}
	b.forgetAutoDeleted(ctx)
	n, err := b.backend.DeleteQueue(ctx, d.q.name)
	if err != nil && !errors.Is(err, ErrNoQueue) {
		b.log.Warn("virtual: deleting queue from the store failed", "queue", d.q.name, "err", err)
	}
	return n
}

// deleteQueue implements queue.delete.
func (b *Broker) deleteQueue(ctx context.Context, c *Conn, name string, opts transports.QueueDeleteOptions) (int, error) {
	b.mu.Lock()
	q := b.queues[name]
	if q == nil {
		b.mu.Unlock()
		return 0, nil
	}
	if err := q.access(c); err != nil {
		b.mu.Unlock()
		return 0, err
	}
	if opts.IfUnused && len(q.consumers) > 0 {
		b.mu.Unlock()
		return 0, brokerError(406, "queue '%s' in vhost '%s' in use", name, vhost)
	}
	if opts.IfEmpty {
		l, err := b.backend.Len(ctx, name)
		if err != nil {
			b.mu.Unlock()
			return 0, storeError("queue.delete", err)
		}
		if l.Messages > 0 {
			b.mu.Unlock()
			return 0, brokerError(406, "queue '%s' in vhost '%s' is not empty", name, vhost)
		}
	}
	ds := b.unlinkQueueLocked(q)
	b.mu.Unlock()
	n := 0
	for _, d := range ds {
		n += b.finishQueueDelete(ctx, d)
	}
	return n, nil
}

// lookupQueue returns the queue for an operation of connection c.
func (b *Broker) lookupQueue(c *Conn, name string) (*queue, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	q := b.queues[name]
	if q == nil {
		return nil, errNoQueue(name)
	}
	if err := q.access(c); err != nil {
		return nil, err
	}
	return q, nil
}

// purgeQueue implements queue.purge.
func (b *Broker) purgeQueue(ctx context.Context, c *Conn, name string) (int, error) {
	if _, err := b.lookupQueue(c, name); err != nil {
		return 0, err
	}
	n, err := b.backend.Purge(ctx, name)
	if errors.Is(err, ErrNoQueue) {
		return 0, errNoQueue(name)
	}
	if err != nil {
		return 0, storeError("queue.purge", err)
	}
	return n, nil
}

// noteAutoDeletedLocked remembers an auto-delete exchange the Broker
// deleted, so that forgetAutoDeleted removes it from the ExchangeCatalog.
func (b *Broker) noteAutoDeletedLocked(name string) {
	if b.xcatalog != nil {
		b.autoDeleted = append(b.autoDeleted, name)
	}
}

// forgetAutoDeleted removes the exchanges noted by noteAutoDeletedLocked
// from the ExchangeCatalog (outside Broker.mu, as store calls are).
func (b *Broker) forgetAutoDeleted(ctx context.Context) {
	if b.xcatalog == nil {
		return
	}
	b.mu.Lock()
	names := b.autoDeleted
	b.autoDeleted = nil
	b.mu.Unlock()
	for _, name := range names {
		if err := b.xcatalog.DeleteExchange(ctx, name); err != nil {
			b.log.Warn("virtual: removing an auto-deleted exchange from the catalog failed", "exchange", name, "err", err)
		}
	}
}
