package conn

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Entity is something kelp can declare: a [route.Exchange] or a
// [route.Queue] (with its bindings). Other implementations are refused
// with [ErrInvalidOption].
type Entity interface {
	// Key is a stable key of the full definition; [Connection.MaybeDeclare]
	// caches by it.
	Key() string
	// ShouldDeclare reports whether kelp declares the entity at all.
	ShouldDeclare() bool
	// CanCache reports whether a declaration may be remembered.
	CanCache() bool
}

// validateEntity checks that e is an exchange or a queue with a valid
// definition.
func validateEntity(e Entity) error {
	switch v := e.(type) {
	case route.Exchange:
		return v.Validate()
	case route.Queue:
		_, err := v.Normalize()
		return err
	case nil:
		return fmt.Errorf("nil entity")
	}
	return fmt.Errorf("cannot declare a %T (want route.Exchange or route.Queue)", e)
}

// queueRecord remembers a queue declared through kelp, for replay.
type queueRecord struct {
	def  route.Queue // normalized definition; Name "" for server-named
	name atomic.Pointer[string]
}

// current returns the queue's name on the broker now: its own name, or
// the name the broker gave it at the last (re)declaration.
func (r *queueRecord) current() string {
	if p := r.name.Load(); p != nil {
		return *p
	}
	return r.def.Name
}

// topology is the set of entities declared through a connection, replayed
// on every reconnect. It is owned by the connection actor.
type topology struct {
	exchanges []route.Exchange // in first-declaration order, one per name
	queues    []*queueRecord   // in first-declaration order
}

// addExchange records ex, replacing an earlier definition of that name.
// undo restores the previous state (for a declaration the broker refused).
func (t *topology) addExchange(ex route.Exchange) (undo func()) {
	if !ex.ShouldDeclare() || ex.Passive {
		return func() {}
	}
	for i := range t.exchanges {
		if t.exchanges[i].Name == ex.Name {
			old := t.exchanges[i]
			t.exchanges[i] = ex.Clone()
			return func() { t.setExchange(old) }
		}
	}
	t.exchanges = append(t.exchanges, ex.Clone())
	return func() {
		t.exchanges = slices.DeleteFunc(t.exchanges, func(e route.Exchange) bool { return e.Name == ex.Name })
	}
}

// setExchange puts back a definition replaced by addExchange.
func (t *topology) setExchange(ex route.Exchange) {
	for i := range t.exchanges {
		if t.exchanges[i].Name == ex.Name {
			t.exchanges[i] = ex
		}
	}
}

// addQueue records q (normalized) and the exchanges of its bindings. A
// named queue replaces an earlier record of the same name; a server-named
// queue always gets a new record. undo restores the previous state.
func (t *topology) addQueue(q route.Queue) (rec *queueRecord, undo func()) {
	var undos []func()
	undoAll := func() {
		for i := len(undos) - 1; i >= 0; i-- {
			undos[i]()
		}
	}
	for _, b := range q.Bindings {
		undos = append(undos, t.addExchange(b.Exchange))
	}
	if q.Name != "" {
		for _, r := range t.queues {
			if r.def.Name == q.Name {
				old := r.def
				r.def = q.Clone()
				undos = append(undos, func() { r.def = old })
				return r, undoAll
			}
		}
	}
	r := &queueRecord{def: q.Clone()}
	if q.Passive || !q.ShouldDeclare() {
		return r, undoAll // consumed, not declared: not replayed
	}
	t.queues = append(t.queues, r)
	undos = append(undos, func() {
		t.queues = slices.DeleteFunc(t.queues, func(o *queueRecord) bool { return o == r })
	})
	return r, undoAll
}

// removeQueue forgets the queue with the given current name.
func (t *topology) removeQueue(name string) {
	t.queues = slices.DeleteFunc(t.queues, func(r *queueRecord) bool { return r.current() == name })
}

// removeExchange forgets an exchange and the bindings to it.
func (t *topology) removeExchange(name string) {
	t.exchanges = slices.DeleteFunc(t.exchanges, func(e route.Exchange) bool { return e.Name == name })
	for _, r := range t.queues {
		r.def.Bindings = slices.DeleteFunc(slices.Clone(r.def.Bindings),
			func(b route.Binding) bool { return b.Exchange.Name == name })
	}
}

// declareExchangeOn declares ex on tch, unless kelp must not declare it.
func declareExchangeOn(ctx context.Context, tch transports.Channel, ex route.Exchange) error {
	if !ex.ShouldDeclare() {
		return nil
	}
	return tch.ExchangeDeclare(ctx, ex)
}

// declareQueueOn declares the exchanges of q's bindings, then q, then the
// bindings (Kombu's order), on tch. q is normalized.
func declareQueueOn(ctx context.Context, tch transports.Channel, q route.Queue) (QueueInfo, error) {
	for _, b := range q.Bindings {
		if err := declareExchangeOn(ctx, tch, b.Exchange); err != nil {
			return QueueInfo{}, err
		}
	}
	if !q.ShouldDeclare() {
		return QueueInfo{Name: q.Name, Messages: -1, Consumers: -1}, nil
	}
	info, err := tch.QueueDeclare(ctx, q)
	if err != nil {
		return QueueInfo{}, err
	}
	for _, b := range q.Bindings {
		if err := tch.QueueBind(ctx, info.Name, b.Exchange.Name, b.RoutingKey, b.Arguments); err != nil {
			return QueueInfo{}, err
		}
	}
	return info, nil
}

// replay declares the whole topology on a new connection, exchanges first.
// A connection-level failure aborts it (the caller reconnects); an entity
// the broker refuses is logged and skipped, on a fresh channel.
func (c *Connection) replay(ctx context.Context, tc transports.Conn) error {
	if len(c.topo.exchanges) == 0 && len(c.topo.queues) == 0 {
		return nil
	}
	var tch transports.Channel
	defer func() {
		if tch != nil {
			closeQuietly(ctx, tch)
		}
	}()
	step := func(what string, fn func(transports.Channel) error) error {
		if tch == nil {
			var err error
			if tch, err = tc.Channel(ctx); err != nil {
				return wrapErr(err)
			}
		}
		err := fn(tch)
		switch classify(err) {
		case classReconnect:
			return wrapErr(err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctxErr(ctx)
			}
			c.cfg.Logger.Error("conn: replaying topology failed; skipping", "entity", what, "err", err)
			closeQuietly(ctx, tch)
			tch = nil
		}
		return nil
	}
	for _, ex := range c.topo.exchanges {
		if err := step("exchange "+ex.Name, func(tch transports.Channel) error {
			return declareExchangeOn(ctx, tch, ex)
		}); err != nil {
			return err
		}
	}
	for _, r := range c.topo.queues {
		if err := step("queue "+r.current(), func(tch transports.Channel) error {
			info, err := declareQueueOn(ctx, tch, r.def)
			if err == nil && r.def.Name == "" {
				r.name.Store(&info.Name)
			}
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
