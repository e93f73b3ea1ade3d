package amqp

import (
	"fmt"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// checkPublishing refuses, with ErrInvalidArgument, a message RabbitMQ
// would answer by closing the channel or the connection: every other
// publish on them would fail with it, and a retried publish would close
// them again each time.
//
//   - Its content header (the properties, headers included) must fit one
//     frame of frameMax bytes: RabbitMQ closes the connection on a larger
//     one (501 FRAME_ERROR, frame_too_large); only bodies are split.
//   - The CC and BCC headers, which RabbitMQ reads as lists of extra
//     routing keys (sender-selected distribution), must be arrays: another
//     type closes the channel (406 PRECONDITION_FAILED,
//     unacceptable_type_in_header).
func checkPublishing(p amqp091.Publishing, frameMax int) error {
	for _, key := range []string{"CC", "BCC"} {
		if v, ok := p.Headers[key]; ok {
			if _, isArray := v.([]any); !isArray {
				return fmt.Errorf("%w: headers: key %q: RabbitMQ takes it for a list of routing keys and needs an array, not %T",
					ErrInvalidArgument, key, v)
			}
		}
	}
	if frameMax <= 0 {
		return nil // no limit negotiated
	}
	if n, limit := headerFrameSize(p), frameMax-frameOverhead; n > limit {
		return fmt.Errorf("%w: headers: the properties take %d bytes on the wire, more than one frame holds (%d bytes; frame_max %d)",
			ErrInvalidArgument, n, limit, frameMax)
	}
	return nil
}

// frameOverhead is what a frame adds around its payload: type, channel,
// size (7 bytes) and the frame-end octet.
const frameOverhead = 8

// headerFrameSize returns an upper bound of the payload of p's content
// header frame, as amqp091-go writes it: class, weight, body size and
// property flags (14 bytes), then the properties present.
func headerFrameSize(p amqp091.Publishing) int {
	n := 14 + 1 + 1 + 8 // delivery mode, priority, timestamp
	for _, s := range []string{p.ContentType, p.ContentEncoding, p.CorrelationId, p.ReplyTo,
		p.Expiration, p.MessageId, p.Type, p.UserId, p.AppId} {
		n += 1 + len(s)
	}
	if p.Headers != nil {
		n += tableSize(p.Headers)
	}
	return n
}

// tableSize returns the encoded size of a table: its length, then for each
// entry the key as a short string and the field.
func tableSize(t amqp091.Table) int {
	n := 4
	for k, v := range t {
		n += 1 + len(k) + fieldSize(v)
	}
	return n
}

// fieldSize returns the encoded size of a field value (type octet
// included) of a table converted by toAMQPTable.
func fieldSize(v any) int {
	switch v := v.(type) {
	case nil:
		return 1
	case bool, int8, uint8:
		return 2
	case int16, uint16:
		return 3
	case int32, uint32, float32, int:
		return 5
	case amqp091.Decimal:
		return 6
	case int64, float64, time.Time:
		return 9
	case string:
		return 5 + len(v)
	case []byte:
		return 5 + len(v)
	case []any:
		n := 5
		for _, e := range v {
			n += fieldSize(e)
		}
		return n
	case amqp091.Table:
		return 1 + tableSize(v)
	}
	return 9 // not produced by toAMQPTable; as large as a fixed-size field gets
}
