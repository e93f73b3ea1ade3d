package conn

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Properties are the AMQP basic properties of a message, the same on every
// transport.
type Properties = transports.Properties

// QueueInfo is what declaring a queue reports: its name (the broker's
// choice for a server-named queue) and counts.
type QueueInfo = transports.QueueInfo

// DeliveryInfo says where a [Delivery] came from.
type DeliveryInfo struct {
	// Exchange and RoutingKey are those the message was published with.
	Exchange   string
	RoutingKey string
	// Queue is the queue the message came from.
	Queue string
	// ConsumerTag is the tag of the consumer that received it; empty for
	// [Connection.Get].
	ConsumerTag string
	// Redelivered reports that the message may have been delivered before.
	Redelivered bool
	// Epoch is the connection epoch the message was delivered in (see
	// [Connection.Epoch]). Settling it in a later epoch fails with
	// [ErrStaleDelivery].
	Epoch uint64
	// MessageCount is, for [Connection.Get] only, the number of messages
	// left in the queue, or -1 when unknown.
	MessageCount int
}

// Delivery is a received message. Body is already decompressed;
// [Delivery.Decode] deserializes it.
//
// A Delivery is a value: copies share its settlement state, so settling
// any copy settles them all. It must be settled exactly once (Ack, Nack,
// Reject or Requeue) unless it came from a no-ack consumer; a second
// settle returns [ErrAlreadySettled] and never reaches the broker. The
// settle methods are safe for concurrent use.
type Delivery struct {
	// Body is the message body, decompressed when the message carried a
	// `compression` header.
	Body []byte
	// Headers are the application headers. The `compression` header, if
	// any, still names the compression the body arrived with.
	Headers route.Table
	// Properties are the basic properties: ContentType, ContentEncoding,
	// DeliveryMode, Priority, CorrelationID, ReplyTo, Expiration,
	// MessageID, Timestamp, Type, UserID and AppID.
	Properties
	// Info says where the message came from.
	Info DeliveryInfo

	st *deliveryState
}

// deliveryState is shared by the copies of one Delivery.
type deliveryState struct {
	settled   atomic.Bool
	ch        *channel // the channel actor it arrived on; settles go there
	tag       uint64
	noAck     bool
	accept    *codec.Accept
	codecs    *codec.Registry
	decodeErr error  // why Body could not be decompressed, if it could not
	onSettle  func() // consumer accounting; may be nil
}

// Decode deserializes Body into the value v points to, using the content
// type and encoding of the message and the accept list of the consumer
// (or of [Connection.Get]). A content type outside the accept list fails
// with an error matching [ErrContentDisallowed]; a body that cannot be
// decompressed or parsed fails with one matching [ErrDecode].
func (d *Delivery) Decode(v any) error {
	reg := codec.Default
	var accept *codec.Accept
	if d.st != nil {
		if d.st.decodeErr != nil {
			return d.st.decodeErr
		}
		reg, accept = d.st.codecs, d.st.accept
	}
	return reg.Decode(d.ContentType, d.ContentEncoding, d.Body, accept, v)
}

// Ack acknowledges the message: the broker forgets it.
func (d *Delivery) Ack(ctx context.Context) error { return d.settle(ctx, settleAck) }

// Nack rejects the message; with requeue the broker puts it back in its
// queue (marked redelivered), without it drops or dead-letters it.
func (d *Delivery) Nack(ctx context.Context, requeue bool) error {
	if requeue {
		return d.settle(ctx, settleRequeue)
	}
	return d.settle(ctx, settleReject)
}

// Reject rejects the message without requeueing it: the broker drops it,
// or dead-letters it when its queue has a dead-letter exchange.
func (d *Delivery) Reject(ctx context.Context) error { return d.settle(ctx, settleReject) }

// Requeue rejects the message and asks the broker to deliver it again.
func (d *Delivery) Requeue(ctx context.Context) error { return d.settle(ctx, settleRequeue) }

// Settled reports whether the delivery has been settled (or came from a
// no-ack consumer).
func (d *Delivery) Settled() bool {
	return d.st == nil || d.st.noAck || d.st.settled.Load()
}

type settleOp int

const (
	settleAck settleOp = iota
	settleReject
	settleRequeue
)

// settle settles the delivery once. Settling a no-ack delivery is a no-op,
// as in Kombu.
func (d *Delivery) settle(ctx context.Context, op settleOp) error {
	st := d.st
	if st == nil {
		return ErrStaleDelivery
	}
	if st.noAck {
		return nil
	}
	if !st.settled.CompareAndSwap(false, true) {
		return ErrAlreadySettled
	}
	if st.onSettle != nil {
		defer st.onSettle()
	}
	if st.ch == nil || st.ch.stale(d.Info.Epoch) {
		return ErrStaleDelivery
	}
	return st.ch.settle(ctx, st.tag, op)
}

// compressionHeader is the application header naming a body's compression.
const compressionHeader = "compression"

// newDelivery wraps a transport delivery that arrived on ch, decompressing
// its body. A body that cannot be decompressed keeps its compressed bytes,
// and Decode reports why.
func (c *Connection) newDelivery(td transports.Delivery, ch *channel, accept *codec.Accept, noAck bool, onSettle func()) Delivery {
	d := Delivery{
		Body:       td.Body,
		Headers:    td.Headers,
		Properties: td.Properties,
		Info: DeliveryInfo{
			Exchange:     td.Exchange,
			RoutingKey:   td.RoutingKey,
			Queue:        td.Queue,
			ConsumerTag:  td.ConsumerTag,
			Redelivered:  td.Redelivered,
			Epoch:        ch.epoch,
			MessageCount: td.MessageCount,
		},
		st: &deliveryState{ch: ch, tag: td.Tag, noAck: noAck, accept: accept, codecs: c.cfg.Codecs, onSettle: onSettle},
	}
	if int64(len(td.Body)) > c.cfg.MaxMessageSize {
		d.st.decodeErr = fmt.Errorf("%w: %d bytes, the limit (Config.MaxMessageSize) is %d",
			ErrMessageTooLarge, len(td.Body), c.cfg.MaxMessageSize)
	} else if h, ok := td.Headers[compressionHeader].(string); ok && h != "" {
		body, err := c.cfg.Codecs.Decompress(h, td.Body, c.cfg.MaxDecompressedSize)
		if err != nil {
			d.st.decodeErr = err
		} else {
			d.Body = body
		}
	}
	return d
}
