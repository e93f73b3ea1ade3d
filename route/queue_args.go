package route

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The RabbitMQ x-arguments that have a [Queue] field, and x-match.
const (
	ArgMessageTTL           = "x-message-ttl"             // int64 milliseconds
	ArgExpires              = "x-expires"                 // int64 milliseconds, > 0
	ArgMaxLength            = "x-max-length"              // int64
	ArgMaxLengthBytes       = "x-max-length-bytes"        // int64
	ArgMaxPriority          = "x-max-priority"            // int64, 0..255
	ArgDeadLetterExchange   = "x-dead-letter-exchange"    // string
	ArgDeadLetterRoutingKey = "x-dead-letter-routing-key" // string
	ArgOverflow             = "x-overflow"                // string, an [Overflow]
	ArgQueueType            = "x-queue-type"              // string, a [QueueType]
	ArgMatch                = "x-match"                   // string, a [MatchMode] (headers bindings)
)

// DeclareArguments returns the x-arguments to declare q with on a broker
// that takes RabbitMQ's: q.Arguments, plus one entry for each field that is
// set. This is the one place that maps fields to x-arguments:
//
//	MessageTTL           x-message-ttl              int64 milliseconds
//	Expires              x-expires                  int64 milliseconds
//	MaxLength            x-max-length               int64
//	MaxLengthBytes       x-max-length-bytes         int64
//	MaxPriority          x-max-priority             int64
//	DeadLetterExchange   x-dead-letter-exchange     string
//	DeadLetterRoutingKey x-dead-letter-routing-key  string
//	Overflow             x-overflow                 string
//	Type                 x-queue-type               string
//
// A field wins over an x-argument with the same meaning ([Queue.Validate]
// reports such conflicts). The result is a new table the caller may keep
// and change; it is nil when there is nothing to send.
func (q Queue) DeclareArguments() Table {
	t := q.Arguments.Clone()
	set := func(k string, v any) {
		if t == nil {
			t = make(Table, 9)
		}
		t[k] = v
	}
	if q.MessageTTL != 0 {
		set(ArgMessageTTL, q.MessageTTL.Milliseconds())
	}
	if q.Expires != 0 {
		set(ArgExpires, q.Expires.Milliseconds())
	}
	if q.MaxLength != 0 {
		set(ArgMaxLength, q.MaxLength)
	}
	if q.MaxLengthBytes != 0 {
		set(ArgMaxLengthBytes, q.MaxLengthBytes)
	}
	if q.MaxPriority != 0 {
		set(ArgMaxPriority, int64(q.MaxPriority))
	}
	if q.DeadLetterExchange != "" {
		set(ArgDeadLetterExchange, q.DeadLetterExchange)
	}
	if q.DeadLetterRoutingKey != "" {
		set(ArgDeadLetterRoutingKey, q.DeadLetterRoutingKey)
	}
	if q.Overflow != "" {
		set(ArgOverflow, string(q.Overflow))
	}
	if q.Type != "" {
		set(ArgQueueType, string(q.Type))
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

// Normalize is the reverse of [Queue.DeclareArguments]: it returns a copy of
// q with the recognised x-arguments moved from Arguments into their fields,
// so that a transport without RabbitMQ's argument parsing reads fields only.
// Numbers are accepted as any Go integer type, as whole floats and as
// json.Number. A value with no field form stays in Arguments: a zero
// x-message-ttl or x-max-length (both meaningful to RabbitMQ, while a zero
// field means unset) and an empty x-dead-letter-exchange (the default
// exchange). Exclusive queues also get AutoDelete, as in Kombu.
//
// Normalize does not change q. It fails, returning q, when an argument has
// the wrong type or range or conflicts with a field, or when the result
// fails [Queue.Validate].
func (q Queue) Normalize() (Queue, error) {
	n := q.Clone()
	var errs []error
	for _, a := range queueArgs {
		v, ok := n.Arguments[a.name]
		if !ok {
			continue
		}
		moved, err := a.absorb(&n, v)
		if err != nil {
			errs = append(errs, invalidf(ErrInvalidQueue, q.Name, err, "%s", trimPrefix(err.Error())))
			continue
		}
		if moved {
			delete(n.Arguments, a.name)
		}
	}
	if len(errs) > 0 {
		return q, errors.Join(errs...)
	}
	if len(n.Arguments) == 0 {
		n.Arguments = nil
	}
	if n.Exclusive {
		n.AutoDelete = true
	}
	if err := n.Validate(); err != nil {
		return q, err
	}
	return n, nil
}

// queueArg knows one recognised x-argument.
type queueArg struct {
	name string
	// absorb parses v and stores it in its field of q. It reports whether
	// the field now carries v (so the argument can go), and fails when v is
	// malformed or the field already holds another value.
	absorb func(q *Queue, v any) (moved bool, err error)
}

// queueArgs lists the x-arguments that have a Queue field.
var queueArgs = []queueArg{
	fieldArg(ArgMessageTTL, "message_ttl", func(q *Queue) *time.Duration { return &q.MessageTTL }, millisArg(0)),
	fieldArg(ArgExpires, "expires", func(q *Queue) *time.Duration { return &q.Expires }, millisArg(1)),
	fieldArg(ArgMaxLength, "max_length", func(q *Queue) *int64 { return &q.MaxLength }, countArg),
	fieldArg(ArgMaxLengthBytes, "max_length_bytes", func(q *Queue) *int64 { return &q.MaxLengthBytes }, countArg),
	fieldArg(ArgMaxPriority, "max_priority", func(q *Queue) *uint8 { return &q.MaxPriority }, priorityArg),
	fieldArg(ArgDeadLetterExchange, "dead_letter_exchange", func(q *Queue) *string { return &q.DeadLetterExchange }, stringArg),
	fieldArg(ArgDeadLetterRoutingKey, "dead_letter_routing_key", func(q *Queue) *string { return &q.DeadLetterRoutingKey }, stringArg),
	fieldArg(ArgOverflow, "overflow", func(q *Queue) *Overflow { return &q.Overflow }, enumArg(Overflow.Valid, "drop-head, reject-publish or reject-publish-dlx")),
	fieldArg(ArgQueueType, "queue_type", func(q *Queue) *QueueType { return &q.Type }, enumArg(QueueType.Valid, "classic, quorum or stream")),
}

// fieldArg builds the queueArg for an x-argument stored in the field that
// field returns, decoded by parse. A zero value stays an argument: the zero
// field means "unset", not zero.
func fieldArg[T comparable](name, fieldName string, field func(*Queue) *T, parse func(any) (T, string)) queueArg {
	return queueArg{name: name, absorb: func(q *Queue, v any) (bool, error) {
		x, want := parse(v)
		if want != "" {
			return false, newError([]error{ErrInvalidArgument},
				"route: %s must be %s, got %T %#v", name, want, v, v)
		}
		var zero T
		p := field(q)
		if *p != zero && *p != x {
			return false, newError([]error{ErrArgumentConflict},
				"route: %s is %#v but %s is %v", name, v, fieldName, *p)
		}
		if x == zero {
			return false, nil
		}
		*p = x
		return true, nil
	}}
}

// The parsers return the value, or what it should have been.

func integerArg(v any) (int64, bool) {
	n, ok := toNumber(v)
	if !ok {
		return 0, false
	}
	return n.int64Value()
}

func millisArg(minimum int64) func(any) (time.Duration, string) {
	want := fmt.Sprintf("a whole number of milliseconds >= %d", minimum)
	return func(v any) (time.Duration, string) {
		ms, ok := integerArg(v)
		if !ok || ms < minimum || ms > math.MaxInt64/int64(time.Millisecond) {
			return 0, want
		}
		return time.Duration(ms) * time.Millisecond, ""
	}
}

func countArg(v any) (int64, string) {
	n, ok := integerArg(v)
	if !ok || n < 0 {
		return 0, "an integer >= 0"
	}
	return n, ""
}

func priorityArg(v any) (uint8, string) {
	n, ok := integerArg(v)
	if !ok || n < 0 || n > math.MaxUint8 {
		return 0, "an integer from 0 to 255"
	}
	return uint8(n), ""
}

func stringArg(v any) (string, string) {
	s, ok := stringValue(v)
	if !ok {
		return "", "a string"
	}
	return s, ""
}

func enumArg[T ~string](valid func(T) bool, names string) func(any) (T, string) {
	want := "one of " + names
	return func(v any) (T, string) {
		s, ok := stringValue(v)
		if !ok || !valid(T(s)) {
			return "", want
		}
		return T(s), ""
	}
}
