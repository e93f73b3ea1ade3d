package amqp

import (
	"context"
	"fmt"
	"strings"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// ExchangeDeclare declares ex (exchange.declare, passive when ex.Passive).
// The four AMQP kinds are native; an empty kind is direct. A kind starting
// with "x-" names a RabbitMQ plugin exchange type and is passed through (a
// broker without the plugin closes the connection with 503). Any other kind
// fails with [transports.ErrUnsupported] before anything is sent.
func (ch *channel) ExchangeDeclare(ctx context.Context, ex route.Exchange) error {
	kind := string(ex.Kind)
	if kind == "" {
		kind = string(route.Direct)
	}
	if !route.Kind(kind).Valid() && !strings.HasPrefix(kind, "x-") {
		return fmt.Errorf("amqp: declare exchange %q: kind %q: %w", ex.Name, kind, transports.ErrUnsupported)
	}
	args, err := toAMQPTable("exchange arguments", ex.Arguments)
	if err != nil {
		return err
	}
	declare := ch.ach.ExchangeDeclare
	if ex.Passive {
		declare = ch.ach.ExchangeDeclarePassive
	}
	return ch.do(ctx, "declare exchange", func() error {
		return declare(ex.Name, kind, ex.Durable, ex.AutoDelete, ex.Internal, false, args)
	})
}

// ExchangeDelete deletes an exchange (exchange.delete).
func (ch *channel) ExchangeDelete(ctx context.Context, name string, ifUnused bool) error {
	return ch.do(ctx, "delete exchange", func() error { return ch.ach.ExchangeDelete(name, ifUnused, false) })
}

// QueueDeclare declares q (queue.declare, passive when q.Passive) with the
// x-arguments of [route.Queue.DeclareArguments], and reports the broker's
// name and counts.
func (ch *channel) QueueDeclare(ctx context.Context, q route.Queue) (transports.QueueInfo, error) {
	args, err := toAMQPTable("queue arguments", q.DeclareArguments())
	if err != nil {
		return transports.QueueInfo{}, err
	}
	declare := ch.ach.QueueDeclare
	if q.Passive {
		declare = ch.ach.QueueDeclarePassive
	}
	var aq amqp091.Queue
	err = ch.do(ctx, "declare queue", func() (err error) {
		aq, err = declare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, args)
		return err
	})
	if err != nil {
		return transports.QueueInfo{}, err
	}
	return transports.QueueInfo{Name: aq.Name, Messages: aq.Messages, Consumers: aq.Consumers}, nil
}

// QueueDelete deletes a queue (queue.delete) and returns its ready count.
func (ch *channel) QueueDelete(ctx context.Context, name string, opts transports.QueueDeleteOptions) (int, error) {
	var n int
	err := ch.do(ctx, "delete queue", func() (err error) {
		n, err = ch.ach.QueueDelete(name, opts.IfUnused, opts.IfEmpty, false)
		return err
	})
	return n, err
}

// QueueBind binds a queue (queue.bind).
func (ch *channel) QueueBind(ctx context.Context, queue, exchange, key string, args route.Table) error {
	a, err := toAMQPTable("binding arguments", args)
	if err != nil {
		return err
	}
	return ch.do(ctx, "bind queue", func() error { return ch.ach.QueueBind(queue, key, exchange, false, a) })
}

// QueueUnbind removes a queue binding (queue.unbind).
func (ch *channel) QueueUnbind(ctx context.Context, queue, exchange, key string, args route.Table) error {
	a, err := toAMQPTable("binding arguments", args)
	if err != nil {
		return err
	}
	return ch.do(ctx, "unbind queue", func() error { return ch.ach.QueueUnbind(queue, key, exchange, a) })
}

// QueuePurge removes a queue's ready messages (queue.purge).
func (ch *channel) QueuePurge(ctx context.Context, name string) (int, error) {
	var n int
	err := ch.do(ctx, "purge queue", func() (err error) {
		n, err = ch.ach.QueuePurge(name, false)
		return err
	})
	return n, err
}

// ExchangeBind binds destination to source (exchange.bind, a RabbitMQ
// extension).
func (ch *channel) ExchangeBind(ctx context.Context, destination, source, key string, args route.Table) error {
	a, err := toAMQPTable("binding arguments", args)
	if err != nil {
		return err
	}
	return ch.do(ctx, "bind exchange", func() error { return ch.ach.ExchangeBind(destination, key, source, false, a) })
}

// ExchangeUnbind removes an exchange binding (exchange.unbind).
func (ch *channel) ExchangeUnbind(ctx context.Context, destination, source, key string, args route.Table) error {
	a, err := toAMQPTable("binding arguments", args)
	if err != nil {
		return err
	}
	return ch.do(ctx, "unbind exchange", func() error { return ch.ach.ExchangeUnbind(destination, key, source, false, a) })
}
