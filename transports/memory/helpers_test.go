package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// env is one test's broker, connection and channel.
type env struct {
	t    *testing.T
	ctx  context.Context
	b    *memory.Broker
	conn transports.Conn
	ch   transports.Channel
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	b := memory.New()
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	e := &env{t: t, ctx: ctx, b: b}
	e.conn = e.dial("")
	e.ch = e.channel(e.conn)
	return e
}

func (e *env) dial(name string) transports.Conn {
	e.t.Helper()
	c, err := e.b.Connector().Connect(e.ctx, transports.ConnectOptions{Name: name})
	if err != nil {
		e.t.Fatalf("Connect: %v", err)
	}
	e.t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (e *env) channel(c transports.Conn) transports.Channel {
	e.t.Helper()
	ch, err := c.Channel(e.ctx)
	if err != nil {
		e.t.Fatalf("Channel: %v", err)
	}
	return ch
}

func (e *env) declare(ch transports.Channel, q route.Queue) string {
	e.t.Helper()
	info, err := ch.QueueDeclare(e.ctx, q)
	if err != nil {
		e.t.Fatalf("QueueDeclare(%q): %v", q.Name, err)
	}
	return info.Name
}

func (e *env) exchange(ch transports.Channel, name string, kind route.Kind) {
	e.t.Helper()
	if err := ch.ExchangeDeclare(e.ctx, route.NewExchange(name, kind)); err != nil {
		e.t.Fatalf("ExchangeDeclare(%q): %v", name, err)
	}
}

func (e *env) bind(ch transports.Channel, queue, exchange, key string) {
	e.t.Helper()
	if err := ch.QueueBind(e.ctx, queue, exchange, key, nil); err != nil {
		e.t.Fatalf("QueueBind: %v", err)
	}
}

func (e *env) publish(ch transports.Channel, p transports.Publishing) uint64 {
	e.t.Helper()
	seq, err := ch.Publish(e.ctx, p)
	if err != nil {
		e.t.Fatalf("Publish: %v", err)
	}
	return seq
}

// send publishes body to queue through the default exchange.
func (e *env) send(queue, body string) {
	e.t.Helper()
	e.publish(e.ch, transports.Publishing{RoutingKey: queue, Message: transports.Message{Body: []byte(body)}})
}

// get fetches one message and fails the test when there is none.
func (e *env) get(ch transports.Channel, queue string, noAck bool) transports.Delivery {
	e.t.Helper()
	d, ok, err := ch.Get(e.ctx, queue, noAck)
	if err != nil || !ok {
		e.t.Fatalf("Get(%q) = ok %v, err %v", queue, ok, err)
	}
	return d
}

// empty fails the test when queue has a ready message.
func (e *env) empty(ch transports.Channel, queue string) {
	e.t.Helper()
	d, ok, err := ch.Get(e.ctx, queue, true)
	if err != nil || ok {
		e.t.Fatalf("Get(%q) = %q, ok %v, err %v; want empty", queue, d.Body, ok, err)
	}
}

// next receives one delivery.
func (e *env) next(s transports.Subscription) transports.Delivery {
	e.t.Helper()
	select {
	case d, ok := <-s.Deliveries():
		if !ok {
			e.t.Fatalf("Deliveries closed: %v", s.Err())
		}
		return d
	case <-e.ctx.Done():
		e.t.Fatal("no delivery")
	}
	return transports.Delivery{}
}

// stats returns a queue's stats and fails when it does not exist.
func (e *env) stats(queue string) memory.QueueStats {
	e.t.Helper()
	st, ok := e.b.QueueStats(queue)
	if !ok {
		e.t.Fatalf("queue %q does not exist", queue)
	}
	return st
}
