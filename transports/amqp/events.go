package amqp

import (
	"bytes"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// Capacities of the Go channels amqp091 notifies on. amqp091's reader sends
// to them synchronously (giving up after 5 seconds, which would lose the
// notification), so the events goroutine drains them at all times and never
// blocks on anything else; the buffers only absorb scheduling delays. The
// Go channel of Confirm has confirmsBuffer too, to hand confirmations on
// without a goroutine switch each.
const (
	confirmsBuffer = 256
	returnsBuffer  = 64
	cancelsBuffer  = 16
)

// events is the state of a channel's events goroutine, which owns every
// amqp091 notification listener of the channel: close, returns, publisher
// confirms and consumer cancellations. It queues what it receives without
// bound (the queues are bounded by what the channel's user did: one
// confirmation per publish, one return per returned publish) and hands it on
// to the Go channels of the SPI as fast as they are read.
//
// # Matching returns to confirmations
//
// basic.return carries no sequence number, so in confirm mode the events
// goroutine matches each return to its publish by order. RabbitMQ sends the
// return of a mandatory publish before that publish's basic.ack; amqp091's
// reader goroutine handles both in wire order and hands them to two Go
// channels, so once the ack has been received here the return is already in
// its buffer. Returns come in publish order, and amqp091 hands on confirms in
// sequence order (it expands multiple acks and re-sequences out-of-order
// ones). So, on the confirmation of publish S, every return not yet matched
// belongs to S or to a later publish, and the oldest one is S's if S was
// returned at all. It is taken as S's when S was mandatory and the return's
// exchange, routing key and body equal S's; otherwise it waits for a later
// confirmation. The one case this cannot tell apart: two mandatory publishes
// with equal exchange, routing key and body, of which only the later one is
// returned (the bindings changed in between); the return is then attributed
// to the earlier one. Returns that can belong to no pending publish are
// logged and dropped.
type events struct {
	ch *channel

	// amqp091 listeners; nil once amqp091 has closed them.
	closes   chan *amqp091.Error
	returns  chan amqp091.Return
	confirms chan amqp091.Confirmation
	cancels  chan string

	reqs   chan evRequest
	exited chan struct{} // closed when the events goroutine ends

	// The Go channels of Confirm and Returns; set once by init.
	confirmsOut chan transports.Confirmation
	returnsOut  chan transports.Return

	// Owned by the events goroutine.
	outClosed   bool
	confirmMode bool
	quitting    bool // the channel was released: discard, and outputs are closed
	confQ       []transports.Confirmation
	retQ        []transports.Return // returns outside confirm mode
	awaiting    []amqp091.Return    // returns waiting for their confirmation
}

// evRequest asks the events goroutine to take in everything amqp091 has
// notified so far and then, optionally, to enter confirm mode.
type evRequest struct {
	confirmMode bool
	done        chan struct{}
}

func (ev *events) init(ch *channel) {
	ev.ch = ch
	ev.reqs = make(chan evRequest)
	ev.exited = make(chan struct{})
	ev.confirmsOut = make(chan transports.Confirmation, confirmsBuffer)
	ev.returnsOut = make(chan transports.Return)
	ev.closes = ch.ach.NotifyClose(make(chan *amqp091.Error, 1))
	ev.returns = ch.ach.NotifyReturn(make(chan amqp091.Return, returnsBuffer))
	ev.confirms = ch.ach.NotifyPublish(make(chan amqp091.Confirmation, confirmsBuffer))
	ev.cancels = ch.ach.NotifyCancel(make(chan string, cancelsBuffer))
}

// sync returns once the events goroutine has taken in every notification
// amqp091 sent before the call: after it, a channel death or a consumer
// cancellation that amqp091 reported is recorded in the channel.
func (ev *events) sync() { ev.request(false) }

// enterConfirmMode makes returns received from now on wait for their
// confirmation; those received before go to Returns.
func (ev *events) enterConfirmMode() { ev.request(true) }

func (ev *events) request(confirmMode bool) {
	r := evRequest{confirmMode: confirmMode, done: make(chan struct{})}
	select {
	case ev.reqs <- r:
		<-r.done
	case <-ev.exited:
	}
}

// events is the body of the events goroutine. It ends when amqp091 has
// closed every listener and everything queued was handed on, or, once the
// channel was released, when amqp091 has closed every listener.
func (ch *channel) events() {
	ev := &ch.ev
	defer ch.c.wg.Done()
	defer close(ev.exited)
	defer ev.closeOutputs()
	quit := ch.quit
	for ev.closes != nil || ev.returns != nil || ev.confirms != nil || ev.cancels != nil ||
		len(ev.confQ) > 0 || len(ev.retQ) > 0 {
		var confOut chan<- transports.Confirmation
		var conf transports.Confirmation
		if len(ev.confQ) > 0 {
			confOut, conf = ev.confirmsOut, ev.confQ[0]
		}
		var retOut chan<- transports.Return
		var ret transports.Return
		if len(ev.retQ) > 0 {
			retOut, ret = ev.returnsOut, ev.retQ[0]
		}
		select {
		case e, ok := <-ev.closes:
			ev.onClose(e, ok)
		case r, ok := <-ev.returns:
			ev.onReturn(r, ok)
		case c, ok := <-ev.confirms:
			ev.onConfirm(c, ok)
		case tag, ok := <-ev.cancels:
			ev.onCancel(tag, ok)
		case r := <-ev.reqs:
			ev.drain()
			ev.confirmMode = ev.confirmMode || r.confirmMode
			close(r.done)
		case confOut <- conf:
			ev.confQ[0] = transports.Confirmation{}
			ev.confQ = ev.confQ[1:]
		case retOut <- ret:
			ev.retQ[0] = transports.Return{}
			ev.retQ = ev.retQ[1:]
		case <-quit:
			// Stop handing on, but keep draining amqp091's listeners
			// until it closes them, so its reader never waits on us.
			quit = nil
			ev.quitting = true
			ev.confQ, ev.retQ, ev.awaiting = nil, nil, nil
			ev.closeOutputs()
		}
	}
}

// closeOutputs closes the Go channels of Confirm and Returns, once.
func (ev *events) closeOutputs() {
	if !ev.outClosed {
		ev.outClosed = true
		close(ev.confirmsOut)
		close(ev.returnsOut)
	}
}

// drain takes in every notification that is ready, without waiting.
func (ev *events) drain() {
	for {
		select {
		case e, ok := <-ev.closes:
			ev.onClose(e, ok)
		case r, ok := <-ev.returns:
			ev.onReturn(r, ok)
		case c, ok := <-ev.confirms:
			ev.onConfirm(c, ok)
		case tag, ok := <-ev.cancels:
			ev.onCancel(tag, ok)
		default:
			return
		}
	}
}

func (ev *events) onClose(e *amqp091.Error, ok bool) {
	if !ok {
		ev.closes = nil
		e = nil
	}
	ev.ch.die(ev.ch.deathError(e))
}

func (ev *events) onCancel(tag string, ok bool) {
	if !ok {
		ev.cancels = nil
		return
	}
	ev.ch.mu.Lock()
	ev.ch.brokerCx[tag] = true
	ev.ch.mu.Unlock()
}

func (ev *events) onReturn(r amqp091.Return, ok bool) {
	switch {
	case !ok:
		ev.returns = nil
	case ev.quitting:
	case ev.confirmMode:
		ev.awaiting = append(ev.awaiting, r)
	default:
		ev.retQ = append(ev.retQ, toReturn(r))
	}
}

func (ev *events) onConfirm(c amqp091.Confirmation, ok bool) {
	if !ok {
		ev.confirms = nil
		return
	}
	// The return of this publish, if any, was sent to its listener before
	// this confirmation: take it in first.
	ev.drainReturns()
	ch := ev.ch
	ch.pmu.Lock()
	p, mandatory := ch.pending[c.DeliveryTag]
	delete(ch.pending, c.DeliveryTag)
	left := len(ch.pending)
	ch.pmu.Unlock()
	if ev.quitting {
		return
	}
	conf := transports.Confirmation{Seq: c.DeliveryTag, Ack: c.Ack}
	if mandatory && len(ev.awaiting) > 0 && sameMessage(ev.awaiting[0], p) {
		r := toReturn(ev.awaiting[0])
		conf.Return = &r
		ev.awaiting[0] = amqp091.Return{}
		ev.awaiting = ev.awaiting[1:]
	}
	if left == 0 && len(ev.awaiting) > 0 {
		ch.c.log.Warn("amqp: dropping returned messages that match no pending publish",
			"count", len(ev.awaiting), "exchange", ev.awaiting[0].Exchange, "routing_key", ev.awaiting[0].RoutingKey)
		ev.awaiting = nil
	}
	ev.confQ = append(ev.confQ, conf)
}

func (ev *events) drainReturns() {
	for {
		select {
		case r, ok := <-ev.returns:
			ev.onReturn(r, ok)
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// sameMessage reports whether r can be the return of p.
func sameMessage(r amqp091.Return, p transports.Publishing) bool {
	return r.Exchange == p.Exchange && r.RoutingKey == p.RoutingKey && bytes.Equal(r.Body, p.Body)
}
