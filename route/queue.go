package route

import (
	"errors"
	"strings"
	"time"
)

// QueueType is a RabbitMQ queue type (x-queue-type). The zero value lets the
// broker choose (classic, unless a policy says otherwise).
type QueueType string

// The RabbitMQ queue types.
const (
	QueueClassic QueueType = "classic"
	QueueQuorum  QueueType = "quorum"
	QueueStream  QueueType = "stream"
)

// Valid reports whether t is one of the named queue types. The zero value
// (broker default) is not a type and reports false.
func (t QueueType) Valid() bool {
	return t == QueueClassic || t == QueueQuorum || t == QueueStream
}

// replicated reports whether t is a Raft-based type that refuses
// non-durable, exclusive and auto-delete queues.
func (t QueueType) replicated() bool { return t == QueueQuorum || t == QueueStream }

// Overflow is what a full queue (x-max-length, x-max-length-bytes) does with
// one more message (x-overflow). The zero value is the broker default,
// [OverflowDropHead].
type Overflow string

// The RabbitMQ overflow behaviours.
const (
	// OverflowDropHead drops the oldest message.
	OverflowDropHead Overflow = "drop-head"
	// OverflowRejectPublish refuses the new message (nack with confirms).
	OverflowRejectPublish Overflow = "reject-publish"
	// OverflowRejectPublishDLX refuses it and dead-letters it.
	OverflowRejectPublishDLX Overflow = "reject-publish-dlx"
)

// Valid reports whether o is one of the named behaviours. The zero value
// (broker default) reports false.
func (o Overflow) Valid() bool {
	return o == OverflowDropHead || o == OverflowRejectPublish || o == OverflowRejectPublishDLX
}

// Queue declares a queue and its bindings, as Kombu's kombu.Queue does. It is
// a plain value: copy it freely, but treat Arguments and Bindings as shared
// until [Queue.Clone].
//
// The RabbitMQ x-arguments with a field of their own (x-message-ttl, ...)
// may be given either way. [Queue.DeclareArguments] turns fields into
// x-arguments for brokers that take them; [Queue.Normalize] does the reverse
// for transports that read fields. Setting both with different values is an
// error ([ErrArgumentConflict]).
//
// In JSON an absent "durable" means true; durations are Go duration strings
// ("1.5s") or numbers of seconds (Kombu style, "message_ttl": 10), and
// marshal as duration strings.
type Queue struct {
	// Name is the queue name; "" asks the broker to name the queue.
	Name string `json:"name"`
	// Durable queues survive a broker restart. [NewQueue] sets it.
	Durable bool `json:"durable"`
	// Exclusive queues belong to one connection. As in Kombu, exclusive
	// implies auto-delete ([Queue.Normalize] sets AutoDelete).
	Exclusive bool `json:"exclusive,omitempty"`
	// AutoDelete queues are deleted when their last consumer goes.
	AutoDelete bool `json:"auto_delete,omitempty"`
	// Passive declares only check that the queue exists.
	Passive bool `json:"passive,omitempty"`
	// NoDeclare marks a queue that kelp must never declare.
	NoDeclare bool `json:"no_declare,omitempty"`
	// MessageTTL drops (or dead-letters) messages older than this
	// (x-message-ttl). Whole milliseconds only.
	MessageTTL time.Duration `json:"message_ttl,omitempty"`
	// Expires deletes the queue after it is unused this long (x-expires).
	// Whole milliseconds only.
	Expires time.Duration `json:"expires,omitempty"`
	// MaxLength bounds the number of ready messages (x-max-length).
	MaxLength int64 `json:"max_length,omitempty"`
	// MaxLengthBytes bounds the bytes of ready message bodies
	// (x-max-length-bytes).
	MaxLengthBytes int64 `json:"max_length_bytes,omitempty"`
	// MaxPriority enables priorities 0..MaxPriority (x-max-priority).
	MaxPriority uint8 `json:"max_priority,omitempty"`
	// DeadLetterExchange receives rejected and expired messages
	// (x-dead-letter-exchange). To dead-letter through the default exchange
	// "", set the x-argument to "" instead.
	DeadLetterExchange string `json:"dead_letter_exchange,omitempty"`
	// DeadLetterRoutingKey replaces the routing key of dead-lettered
	// messages (x-dead-letter-routing-key); it needs a dead-letter exchange.
	DeadLetterRoutingKey string `json:"dead_letter_routing_key,omitempty"`
	// Overflow is what a full queue does (x-overflow).
	Overflow Overflow `json:"overflow,omitempty"`
	// Type is the queue type (x-queue-type).
	Type QueueType `json:"queue_type,omitempty"`
	// Arguments are further x-arguments, passed to the broker as they are.
	Arguments Table `json:"arguments,omitempty"`
	// Bindings are declared after the queue, each after its exchange.
	Bindings []Binding `json:"bindings,omitempty"`
}

// Binding routes messages from an exchange to the queue that holds it.
type Binding struct {
	// Exchange is the source exchange, declared before the binding when it
	// [Exchange.ShouldDeclare].
	Exchange Exchange `json:"exchange"`
	// RoutingKey is the binding key: a word pattern on topic exchanges,
	// ignored by fanout and headers exchanges.
	RoutingKey string `json:"routing_key"`
	// Arguments are the binding arguments; on a headers exchange, the
	// headers to match and x-match (see [MatchHeaders]).
	Arguments Table `json:"arguments,omitempty"`
}

// NewQueue returns a durable queue (Kombu's default) with the given bindings.
func NewQueue(name string, bindings ...Binding) Queue {
	return Queue{Name: name, Durable: true, Bindings: bindings}
}

// Bind returns a binding from ex with routingKey.
func Bind(ex Exchange, routingKey string) Binding {
	return Binding{Exchange: ex, RoutingKey: routingKey}
}

// Validate reports every problem of b, joined, each matching
// [ErrInvalidBinding] and, where it applies, [ErrInvalidExchange] or
// [ErrInvalidMatch].
func (b Binding) Validate() error { return errors.Join(b.problems()...) }

func (b Binding) problems() []error {
	var errs []error
	for _, err := range b.Exchange.problems() {
		errs = append(errs, entityError(ErrInvalidBinding, b.Exchange.Name, err))
	}
	if b.Exchange.Name == "" {
		errs = append(errs, invalidf(ErrInvalidBinding, b.Exchange.Name, nil,
			"queues cannot be bound to the default exchange"))
	}
	if len(b.RoutingKey) > maxNameLen {
		errs = append(errs, invalidf(ErrInvalidBinding, b.Exchange.Name, nil,
			"routing key is %d bytes long, the limit is %d", len(b.RoutingKey), maxNameLen))
	}
	if b.Exchange.Kind == Headers {
		if _, err := matchModeOf(b.Arguments); err != nil {
			errs = append(errs, entityError(ErrInvalidBinding, b.Exchange.Name, err))
		}
	}
	return errs
}

// Clone returns a copy of b that shares no memory with it.
func (b Binding) Clone() Binding {
	b.Exchange = b.Exchange.Clone()
	b.Arguments = b.Arguments.Clone()
	return b
}

// Clone returns a copy of q that shares no memory with it.
func (q Queue) Clone() Queue {
	q.Arguments = q.Arguments.Clone()
	if q.Bindings != nil {
		bs := make([]Binding, len(q.Bindings))
		for i, b := range q.Bindings {
			bs[i] = b.Clone()
		}
		q.Bindings = bs
	}
	return q
}

// Validate reports every problem of q, joined. Each matches
// [ErrInvalidQueue] and, where it applies, [ErrInvalidDuration],
// [ErrInvalidArgument], [ErrArgumentConflict] or the binding's errors.
//
// The rules: a name of at most 255 bytes, not starting with "amq." unless
// passive or not declared; durations neither negative nor finer than a
// millisecond; lengths not negative; a known Overflow and Type; recognised
// x-arguments of the right type and range, agreeing with the fields; a
// dead-letter routing key only with a dead-letter exchange; quorum and
// stream queues durable, not exclusive and not auto-delete; valid bindings.
func (q Queue) Validate() error {
	var errs []error
	bad := func(cause error, format string, args ...any) {
		errs = append(errs, invalidf(ErrInvalidQueue, q.Name, cause, format, args...))
	}
	if len(q.Name) > maxNameLen {
		bad(nil, "name is %d bytes long, the limit is %d", len(q.Name), maxNameLen)
	}
	if strings.HasPrefix(q.Name, "amq.") && !q.Passive && !q.NoDeclare {
		bad(nil, "names starting with \"amq.\" are reserved for the broker")
	}
	checkMillis := func(field string, d time.Duration) {
		switch {
		case d < 0:
			bad(ErrInvalidDuration, "%s %v is negative", field, d)
		case d%time.Millisecond != 0:
			bad(ErrInvalidDuration, "%s %v is not a whole number of milliseconds", field, d)
		}
	}
	checkMillis("message_ttl", q.MessageTTL)
	checkMillis("expires", q.Expires)
	if q.MaxLength < 0 {
		bad(nil, "max_length %d is negative", q.MaxLength)
	}
	if q.MaxLengthBytes < 0 {
		bad(nil, "max_length_bytes %d is negative", q.MaxLengthBytes)
	}
	if q.Overflow != "" && !q.Overflow.Valid() {
		bad(nil, "unknown overflow %q (want drop-head, reject-publish or reject-publish-dlx)", q.Overflow)
	}
	if q.Type != "" && !q.Type.Valid() {
		bad(nil, "unknown queue type %q (want classic, quorum or stream)", q.Type)
	}

	// Recognised x-arguments: right type and range, and no conflict with a
	// field. eff collects the effective values of both.
	eff := q
	for _, a := range queueArgs {
		if v, ok := q.Arguments[a.name]; ok {
			if _, err := a.absorb(&eff, v); err != nil {
				bad(err, "%s", trimPrefix(err.Error()))
			}
		}
	}
	_, dlxArg := q.Arguments[ArgDeadLetterExchange]
	_, dlrkArg := q.Arguments[ArgDeadLetterRoutingKey]
	if (eff.DeadLetterRoutingKey != "" || dlrkArg) && eff.DeadLetterExchange == "" && !dlxArg {
		bad(nil, "a dead-letter routing key needs a dead-letter exchange")
	}
	if eff.Type.replicated() {
		if !q.Durable {
			bad(nil, "%s queues must be durable", eff.Type)
		}
		if q.Exclusive || q.AutoDelete {
			bad(nil, "%s queues cannot be exclusive or auto-delete", eff.Type)
		}
	}
	for _, b := range q.Bindings {
		for _, err := range b.problems() {
			errs = append(errs, entityError(ErrInvalidQueue, q.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ShouldDeclare reports whether kelp declares q (false when NoDeclare).
func (q Queue) ShouldDeclare() bool { return !q.NoDeclare }

// CanCache reports whether a declaration of q may be remembered and skipped
// next time. As in Kombu it may not when the queue can vanish by itself:
// auto-delete, exclusive, or with an expiry (field or x-expires).
func (q Queue) CanCache() bool {
	if q.AutoDelete || q.Exclusive || q.Expires != 0 {
		return false
	}
	_, expires := q.Arguments[ArgExpires]
	return !expires
}

// Key returns a stable key of q's full definition, bindings included. It is
// computed on the normalised queue, so a TTL given as a field and the same
// TTL given as x-message-ttl have the same key. MaybeDeclare caches
// declarations by it.
func (q Queue) Key() string {
	if n, err := q.Normalize(); err == nil {
		q = n
	}
	return "Q" + definitionKey(q)
}
