package virtual

import (
	"context"
	"errors"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// This file holds the Broker's operator side: fault injection for tests and
// inspection. None of it is reachable through the SPI.

// DropConnections kills the live connections named name (see
// [transports.ConnectOptions].Name), or every one when name is "", as a
// network failure would: their channels close, their unsettled deliveries
// return to their queues marked redelivered, their exclusive queues are
// deleted, Done closes and Err wraps [transports.ErrConnLost] and cause (nil
// means a 320 CONNECTION_FORCED error). It returns when they are dead, and
// how many there were.
func (b *Broker) DropConnections(name string, cause error) int {
	if cause == nil {
		cause = transports.NewError(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
	}
	b.mu.RLock()
	var victims []*Conn
	for c := range b.conns {
		if name == "" || c.name == name {
			victims = append(victims, c)
		}
	}
	b.mu.RUnlock()
	for _, c := range victims {
		c.drop(cause)
	}
	return len(victims)
}

// RefuseConnections makes Connect fail with an error wrapping
// [transports.ErrConnLost] and err while err is not nil; RefuseConnections(nil)
// accepts connections again. Live connections are not affected.
func (b *Broker) RefuseConnections(err error) {
	if err == nil {
		b.refuseErr.Store(nil)
		return
	}
	b.refuseErr.Store(&err)
}

// CancelConsumers cancels every consumer of queue from the broker side, as
// RabbitMQ does when a queue's node fails: each Subscription's Deliveries
// closes after what it buffered and its Err wraps
// [transports.ErrConsumerCancelled]. Their unsettled deliveries stay
// unsettled. It returns when the consumers have ended, and how many there
// were.
func (b *Broker) CancelConsumers(queue string) int {
	b.mu.RLock()
	var cons []*consumer
	if q := b.queues[queue]; q != nil {
		cons = append(cons, q.consumers...)
	}
	b.mu.RUnlock()
	for _, c := range cons {
		c.stop(errCancelledBy("cancelled by the broker"))
	}
	for _, c := range cons {
		<-c.done
	}
	return len(cons)
}

// Block stops publishing, as a RabbitMQ resource alarm does: every
// connection reports a [transports.Blocking] with Active true and reason,
// and Publish waits until [Broker.Unblock] or its ctx ends. Blocking a
// blocked Broker does nothing.
func (b *Broker) Block(reason string) {
	st := &blockState{reason: reason, released: make(chan struct{})}
	if !b.block.CompareAndSwap(nil, st) {
		return
	}
	b.notifyConns(transports.Blocking{Active: true, Reason: reason})
}

// Unblock lets publishing resume and tells every connection. Unblocking a
// Broker that is not blocked does nothing.
func (b *Broker) Unblock() {
	if b.unblock() {
		b.notifyConns(transports.Blocking{Active: false})
	}
}

func (b *Broker) unblock() bool {
	st := b.block.Swap(nil)
	if st == nil {
		return false
	}
	close(st.released)
	return true
}

func (b *Broker) notifyConns(ev transports.Blocking) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for c := range b.conns {
		c.notifyBlocked(ev)
	}
}

// NackPublishes makes the next n publishes fail on the broker side: the
// message is not stored and, in confirm mode, its confirmation is a nack.
// Outside confirm mode the message is silently lost, as it would be with a
// real broker. n <= 0 clears the fault.
func (b *Broker) NackPublishes(n int) {
	b.nackNext.Store(int64(max(n, 0)))
}

// takeNack consumes one injected nack, if any.
func (b *Broker) takeNack() bool {
	for {
		n := b.nackNext.Load()
		if n <= 0 {
			return false
		}
		if b.nackNext.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// QueueStats describes a queue for inspection.
type QueueStats struct {
	// Messages is the number of ready messages.
	Messages int
	// Unacked is the number of delivered, unsettled messages.
	Unacked int
	// Consumers is the number of consumers.
	Consumers int
}

// QueueStats reports the counts of a queue, and false when it does not
// exist.
func (b *Broker) QueueStats(name string) (QueueStats, bool) {
	b.mu.RLock()
	q := b.queues[name]
	if q == nil {
		b.mu.RUnlock()
		return QueueStats{}, false
	}
	st := QueueStats{Consumers: len(q.consumers)}
	conns := make([]*Conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.RUnlock()
	for _, c := range conns {
		c.mu.Lock()
		for ch := range c.channels {
			ch.mu.Lock()
			for _, p := range ch.win.items[ch.win.off:] {
				if !p.settled && p.q == q {
					st.Unacked++
				}
			}
			ch.mu.Unlock()
		}
		c.mu.Unlock()
	}
	if l, err := b.backend.Len(context.Background(), name); err == nil {
		st.Messages = l.Messages
	} else if !errors.Is(err, ErrNoQueue) {
		st.Messages = -1
	}
	return st, true
}

// HasQueue reports whether a queue exists.
func (b *Broker) HasQueue(name string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.queues[name] != nil
}

// HasExchange reports whether an exchange exists ("" always does).
func (b *Broker) HasExchange(name string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return name == "" || b.exchanges[name] != nil
}

// HasBinding reports whether queue is bound to exchange with key and args
// (args compare by value; nil and empty are the same).
func (b *Broker) HasBinding(exchange, queue, key string, args route.Table) bool {
	return b.hasBinding(exchange, destQueue+queue, key, args)
}

// HasExchangeBinding reports whether exchange destination is bound to
// exchange source with key and args.
func (b *Broker) HasExchangeBinding(destination, source, key string, args route.Table) bool {
	return b.hasBinding(source, destExchange+destination, key, args)
}

func (b *Broker) hasBinding(source, dest, key string, args route.Table) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ex := b.exchanges[source]
	if ex == nil {
		return false
	}
	_, ok := ex.bindings[bindKey{dest, key, tableKey(args)}]
	return ok
}

// Connections returns the number of live connections.
func (b *Broker) Connections() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.conns)
}
