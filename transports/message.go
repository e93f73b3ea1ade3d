package transports

import (
	"time"

	"github.com/kelpmq/kelp/route"
)

// Properties are the AMQP 0-9-1 basic properties, shared by every transport.
// Virtual transports carry them in their own envelope (Kombu's Redis envelope
// keeps them under "properties"). The zero value of each field means "not
// set", except where a field says otherwise.
type Properties struct {
	// ContentType is the MIME type of Body after decompression, such as
	// "application/json". Set by the serializer.
	ContentType string
	// ContentEncoding is the character encoding of Body ("utf-8", "binary").
	ContentEncoding string
	// DeliveryMode is 1 (transient) or 2 (persistent). conn always sets it
	// on publish, as Kombu does; zero from a broker means the peer did not.
	DeliveryMode route.DeliveryMode
	// Priority is the message priority, 0 to 255 (brokers clamp further).
	// conn always sends it on publish, as Kombu does (default 0).
	Priority uint8
	// CorrelationID ties a reply to its request.
	CorrelationID string
	// ReplyTo names the queue (or routing key) replies should go to.
	ReplyTo string
	// Expiration is the per-message TTL in milliseconds, as a decimal string
	// (AMQP's format; Kombu writes str(int(seconds*1000))).
	Expiration string
	// MessageID is an application message identifier.
	MessageID string
	// Timestamp is the message creation time (AMQP keeps whole seconds).
	Timestamp time.Time
	// Type is an application message type name.
	Type string
	// UserID is the authenticated user that published (RabbitMQ validates it).
	UserID string
	// AppID identifies the publishing application.
	AppID string
}

// Message is a raw envelope: the bytes a serializer (and compressor)
// produced, the application headers, and the basic properties.
//
// Ownership: whoever hands a Message to another party gives up the right to
// modify Body and Headers. conn never modifies a Message after passing it to
// [Channel.Publish], so drivers may keep references without copying; a
// receiver owns the Message of every [Delivery] it is handed.
type Message struct {
	// Body is the serialized, possibly compressed payload.
	Body []byte
	// Headers is the AMQP application headers table. The "compression"
	// header names the compression applied to Body, as a MIME type.
	Headers route.Table
	Properties
}

// Publishing is a message with its routing information, as handed to
// [Channel.Publish].
type Publishing struct {
	// Exchange is the exchange to publish to; "" is the default exchange,
	// which routes to the queue named by RoutingKey.
	Exchange string
	// RoutingKey is the routing key. For a headers exchange it is ignored by
	// routing but still carried in the delivery.
	RoutingKey string
	// Mandatory asks the broker to return the message if no queue takes it.
	// Drivers that cannot return messages (see [Returner]) ignore it and
	// conn documents that.
	Mandatory bool
	Message
}

// Delivery is a message handed to a consumer or returned by [Channel.Get].
// The receiver owns it; settling happens through the Channel it came from,
// by Tag.
type Delivery struct {
	Message
	// Tag is the delivery tag, unique within the Channel that delivered it
	// and meaningless outside it (and after that Channel has closed).
	// Drivers whose broker uses other identifiers (Kombu's Redis transport
	// uses uuid strings) keep their own tag-to-identifier map.
	Tag uint64
	// ConsumerTag is the tag of the consumer that received the message;
	// empty for [Channel.Get].
	ConsumerTag string
	// Exchange and RoutingKey are those the message was published with.
	Exchange   string
	RoutingKey string
	// Queue is the queue the message came from, when the driver knows it
	// (virtual transports always do; AMQP drivers fill it in from the
	// consumer registration or the Get call).
	Queue string
	// Redelivered reports that the message may have been delivered before.
	Redelivered bool
	// MessageCount is, for [Channel.Get] only, the number of messages left
	// in the queue after this one, or -1 when unknown. Zero for consumers.
	MessageCount int
}

// QueueInfo is the result of [Channel.QueueDeclare].
type QueueInfo struct {
	// Name is the queue's name; for a server-named queue this is the name
	// the broker chose.
	Name string
	// Messages is the number of ready messages, or -1 when unknown.
	Messages int
	// Consumers is the number of active consumers, or -1 when unknown.
	Consumers int
}

// QueueDeleteOptions are the conditions of [Channel.QueueDelete].
type QueueDeleteOptions struct {
	// IfUnused deletes only a queue without consumers.
	IfUnused bool
	// IfEmpty deletes only a queue without ready messages.
	IfEmpty bool
}

// Qos is the prefetch setting of [Channel.Qos].
type Qos struct {
	// PrefetchCount is the maximum number of unacknowledged deliveries;
	// 0 means unlimited.
	PrefetchCount int
	// PrefetchSize is the maximum number of unacknowledged body bytes;
	// 0 means unlimited. Most brokers (RabbitMQ included) ignore it.
	PrefetchSize int
	// Global applies the limit to the whole channel rather than to each
	// consumer started afterwards (RabbitMQ's interpretation of AMQP).
	Global bool
}

// ConsumeArgs describes a consumer for [Channel.Consume].
type ConsumeArgs struct {
	// Queue is the queue to consume from.
	Queue string
	// Tag is the consumer tag; "" lets the driver choose a unique one.
	Tag string
	// NoAck makes the broker consider each message settled on delivery.
	NoAck bool
	// Exclusive asks to be the queue's only consumer.
	Exclusive bool
	// Arguments are extra consumer arguments, such as "x-priority".
	Arguments route.Table
}

// Confirmation is the broker's verdict on one published message of a
// channel in confirm mode (see [Confirmer]).
type Confirmation struct {
	// Seq is the sequence number [Channel.Publish] returned for the message.
	Seq uint64
	// Ack is true when the broker took responsibility for the message and
	// false when it refused it (basic.nack).
	Ack bool
	// Return is non-nil when the broker returned the message as
	// unroutable (mandatory flag) before confirming it. The driver is
	// responsible for matching the return to its publish.
	Return *Return
}

// Return is a message the broker handed back because it could not route a
// mandatory publish.
type Return struct {
	// ReplyCode is the reason code, normally 312 (NO_ROUTE).
	ReplyCode int
	// ReplyText is the broker's explanation.
	ReplyText string
	Publishing
}

// Blocking reports a change in the broker's flow control of a connection
// (AMQP connection.blocked / connection.unblocked).
type Blocking struct {
	// Active is true while the broker refuses to read published messages.
	Active bool
	// Reason is the broker's explanation ("low on memory"), when given.
	Reason string
}
