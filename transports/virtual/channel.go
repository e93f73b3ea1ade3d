package virtual

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Channel is a channel of a [Conn]. It implements [transports.Channel] and
// the optional [transports.Confirmer], [transports.Returner],
// [transports.ExchangeBinder] and [transports.Recoverer].
//
// As the SPI says, one goroutine at a time calls its methods; Done, Err and
// the Go channels it hands out may be used from any goroutine.
type Channel struct {
	conn *Conn
	b    *Broker
	done chan struct{}

	// mu guards the state shared with consumer pumps and with a shutdown
	// started by the connection.
	mu        sync.Mutex
	closing   bool
	err       error
	consumers map[string]*consumer
	prefetch  int // per-consumer limit for consumers started later
	global    int // channel-wide limit
	unacked   int // unsettled deliveries (consumers and Get)
	win       window
	nextTag   uint64
	confirms  *outbox[transports.Confirmation]
	returns   *outbox[transports.Return]
	seq       uint64
	pub       *pubWriter // asynchronous publishes, with a BatchPutter store
	acks      *acker     // asynchronous acks, with a BatchAcker store

	// Used by the calling goroutine only.
	scratch scratch
	settled []pending
}

var (
	_ transports.Channel        = (*Channel)(nil)
	_ transports.Confirmer      = (*Channel)(nil)
	_ transports.Returner       = (*Channel)(nil)
	_ transports.ExchangeBinder = (*Channel)(nil)
	_ transports.Recoverer      = (*Channel)(nil)
)

func newChannel(c *Conn) *Channel {
	return &Channel{conn: c, b: c.b, done: make(chan struct{}), consumers: make(map[string]*consumer)}
}

// check returns the error of a call made on a dead channel or with an ended
// ctx, or nil.
func (ch *Channel) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("virtual: %s: %w", op, err)
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closing {
		return ch.err
	}
	return nil
}

// ready is check for an operation that must see the channel's earlier
// publishes in the store: it also waits for those still queued for the
// writer (see [BatchPutter]).
func (ch *Channel) ready(ctx context.Context, op string) error {
	if err := ch.check(ctx, op); err != nil {
		return err
	}
	if err := ch.flushPublishes(ctx); err != nil {
		return fmt.Errorf("virtual: %s: %w", op, err)
	}
	return nil
}

// fail applies the SPI's error rules to err, returned by an operation of
// this channel: a channel-level broker error (or a store operation cut
// short by its ctx) closes the channel, a connection-level one or a store
// failure kills the connection. It returns the error for the caller.
func (ch *Channel) fail(err error) error {
	var be *transports.Error
	switch {
	case errors.As(err, &be) && be.ConnectionLevel():
		ch.conn.drop(err)
		return ch.conn.Err()
	case be != nil:
		e := fmt.Errorf("%w: %w", transports.ErrChannelClosed, err)
		ch.shutdown(context.Background(), e)
		return e
	case errors.Is(err, transports.ErrConnLost):
		ch.conn.drop(err)
		return ch.conn.Err()
	case errors.Is(err, transports.ErrChannelClosed):
		ch.shutdown(context.Background(), err)
	}
	return err
}

// Done is closed when the channel is closed or dead.
func (ch *Channel) Done() <-chan struct{} { return ch.done }

// Err returns nil while the channel is open, then why it ended.
func (ch *Channel) Err() error {
	select {
	case <-ch.done:
	default:
		return nil
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.err
}

// Close closes the channel: its consumers end and its unsettled deliveries
// return to their queues, marked redelivered.
func (ch *Channel) Close(ctx context.Context) error {
	ch.shutdown(ctx, transports.ErrClosed)
	return nil
}

// shutdown ends the channel with err. Concurrent and repeated calls wait
// for the first to finish.
func (ch *Channel) shutdown(ctx context.Context, err error) {
	ch.mu.Lock()
	if ch.closing {
		ch.mu.Unlock()
		<-ch.done
		return
	}
	ch.closing = true
	ch.err = err
	cons := make([]*consumer, 0, len(ch.consumers))
	for _, c := range ch.consumers {
		cons = append(cons, c)
	}
	ch.mu.Unlock()

	for _, c := range cons {
		c.stop(err)
	}
	for _, c := range cons {
		<-c.done
	}
	ch.mu.Lock()
	pub, acks := ch.pub, ch.acks
	ch.mu.Unlock()
	if acks != nil {
		acks.close(ctx) // settles the acks handed over before Close
	}
	if pub != nil {
		pub.close(ctx) // stores (and confirms) what was published before Close
	}
	ch.mu.Lock()
	pend := ch.win.takeAll(nil)
	ch.unacked = 0
	confirms, returns := ch.confirms, ch.returns
	ch.mu.Unlock()
	ch.requeue(context.WithoutCancel(ctx), pend)
	if confirms != nil {
		confirms.close()
	}
	if returns != nil {
		returns.close()
	}
	ch.conn.removeChannel(ch)
	close(ch.done)
}

// ExchangeDeclare declares an exchange. Every kind is supported; Durable is
// recorded (redeclaring with another durability fails with 406) but has no
// other effect.
func (ch *Channel) ExchangeDeclare(ctx context.Context, ex route.Exchange) error {
	if err := ch.ready(ctx, "exchange.declare"); err != nil {
		return err
	}
	if err := ch.b.declareExchange(ctx, ex); err != nil {
		return ch.fail(err)
	}
	return nil
}

// ExchangeDelete deletes an exchange and its bindings.
func (ch *Channel) ExchangeDelete(ctx context.Context, name string, ifUnused bool) error {
	if err := ch.ready(ctx, "exchange.delete"); err != nil {
		return err
	}
	if err := ch.b.deleteExchange(ctx, name, ifUnused); err != nil {
		return ch.fail(err)
	}
	return nil
}

// QueueDeclare declares a queue (see the package documentation for the
// queue options the Broker honours).
func (ch *Channel) QueueDeclare(ctx context.Context, q route.Queue) (transports.QueueInfo, error) {
	if err := ch.ready(ctx, "queue.declare"); err != nil {
		return transports.QueueInfo{}, err
	}
	info, err := ch.b.declareQueue(ctx, ch.conn, q)
	if err != nil {
		return transports.QueueInfo{}, ch.fail(err)
	}
	return info, nil
}

// QueueDelete deletes a queue, cancelling its consumers.
func (ch *Channel) QueueDelete(ctx context.Context, name string, opts transports.QueueDeleteOptions) (int, error) {
	if err := ch.ready(ctx, "queue.delete"); err != nil {
		return 0, err
	}
	n, err := ch.b.deleteQueue(ctx, ch.conn, name, opts)
	if err != nil {
		return 0, ch.fail(err)
	}
	return n, nil
}

// QueueBind binds a queue to an exchange.
func (ch *Channel) QueueBind(ctx context.Context, queue, exchange, key string, args route.Table) error {
	if err := ch.ready(ctx, "queue.bind"); err != nil {
		return err
	}
	if err := ch.b.bind(ctx, ch.conn, destQueue+queue, exchange, key, args); err != nil {
		return ch.fail(err)
	}
	return nil
}

// QueueUnbind removes a binding. Removing a missing binding succeeds.
func (ch *Channel) QueueUnbind(ctx context.Context, queue, exchange, key string, args route.Table) error {
	if err := ch.ready(ctx, "queue.unbind"); err != nil {
		return err
	}
	if err := ch.b.unbind(ctx, ch.conn, destQueue+queue, exchange, key, args); err != nil {
		return ch.fail(err)
	}
	return nil
}

// ExchangeBind binds exchange destination to exchange source.
func (ch *Channel) ExchangeBind(ctx context.Context, destination, source, key string, args route.Table) error {
	if err := ch.ready(ctx, "exchange.bind"); err != nil {
		return err
	}
	if err := ch.b.bind(ctx, ch.conn, destExchange+destination, source, key, args); err != nil {
		return ch.fail(err)
	}
	return nil
}

// ExchangeUnbind removes an exchange-to-exchange binding.
func (ch *Channel) ExchangeUnbind(ctx context.Context, destination, source, key string, args route.Table) error {
	if err := ch.ready(ctx, "exchange.unbind"); err != nil {
		return err
	}
	if err := ch.b.unbind(ctx, ch.conn, destExchange+destination, source, key, args); err != nil {
		return ch.fail(err)
	}
	return nil
}

// QueuePurge removes the ready messages of a queue.
func (ch *Channel) QueuePurge(ctx context.Context, name string) (int, error) {
	if err := ch.ready(ctx, "queue.purge"); err != nil {
		return 0, err
	}
	n, err := ch.b.purgeQueue(ctx, ch.conn, name)
	if err != nil {
		return 0, ch.fail(err)
	}
	return n, nil
}

// Qos sets the prefetch count: per consumer started afterwards, or with
// Global for the whole channel at once. PrefetchSize is ignored, as
// RabbitMQ ignores it.
func (ch *Channel) Qos(ctx context.Context, q transports.Qos) error {
	if err := ch.check(ctx, "basic.qos"); err != nil {
		return err
	}
	if q.PrefetchCount < 0 {
		return ch.fail(brokerError(406, "prefetch count %d is negative", q.PrefetchCount))
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if q.Global {
		ch.global = q.PrefetchCount
	} else {
		ch.prefetch = q.PrefetchCount
	}
	ch.kickAllLocked()
	return nil
}

// Get fetches one message (basic.get). Get ignores prefetch limits, as
// AMQP says.
func (ch *Channel) Get(ctx context.Context, queue string, noAck bool) (transports.Delivery, bool, error) {
	if err := ch.ready(ctx, "basic.get"); err != nil {
		return transports.Delivery{}, false, err
	}
	q, err := ch.b.lookupQueue(ch.conn, queue)
	if err != nil {
		return transports.Delivery{}, false, ch.fail(err)
	}
	if q.expires > 0 {
		ch.b.mu.Lock()
		q.touch()
		ch.b.mu.Unlock()
	}
	be := ch.b.backend
	var c Claim
	for {
		c, err = be.Fetch(ctx, queue, false)
		switch {
		case errors.Is(err, ErrEmpty):
			return transports.Delivery{}, false, nil
		case errors.Is(err, ErrNoQueue):
			return transports.Delivery{}, false, ch.fail(errNoQueue(queue))
		case err != nil:
			return transports.Delivery{}, false, ch.fail(storeError("basic.get", err))
		}
		if !c.Envelope.expired(time.Now()) {
			break
		}
		q.expire(&c)
	}
	left := -1
	if l, err := be.Len(ctx, queue); err == nil {
		left = l.Messages
	}
	ch.mu.Lock()
	if ch.closing {
		err := ch.err
		ch.mu.Unlock()
		_ = be.Requeue(context.WithoutCancel(ctx), &c)
		return transports.Delivery{}, false, err
	}
	ch.nextTag++
	tag := ch.nextTag
	if !noAck {
		ch.win.push(pending{tag: tag, q: q, claim: c})
		ch.unacked++
	}
	ch.mu.Unlock()
	if noAck {
		_ = be.Ack(ctx, &c)
	}
	d := delivery(&c, tag, "", !noAck)
	d.MessageCount = left
	return d, true, nil
}

// delivery builds the Delivery of a claim. With private the receiver gets
// its own copy of Body and Headers: the claim may be requeued, and the
// receiver owns what it is handed (it may change it in place), so the two
// must not share memory.
func delivery(c *Claim, tag uint64, consumerTag string, private bool) transports.Delivery {
	m := c.Envelope.Message
	if private {
		m.Body = bytes.Clone(m.Body)
		m.Headers = m.Headers.Clone()
	}
	return transports.Delivery{
		Message:     m,
		Tag:         tag,
		ConsumerTag: consumerTag,
		Exchange:    c.Envelope.Exchange,
		RoutingKey:  c.Envelope.RoutingKey,
		Queue:       c.Queue,
		Redelivered: c.Envelope.Redelivered,
	}
}
