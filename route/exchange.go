package route

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxNameLen is the longest exchange name, queue name or routing key AMQP
// 0-9-1 can carry (a short string).
const maxNameLen = 255

// Exchange declares an exchange, as Kombu's kombu.Exchange does. It is a plain
// value: copy it freely, but treat Arguments as shared until [Exchange.Clone].
//
// In JSON an absent "durable" means true and an absent or empty "type" means
// direct (Kombu's defaults), so {"name": "tasks"} is a durable direct exchange.
type Exchange struct {
	// Name is the exchange name. "" is the default exchange, which is never
	// declared.
	Name string `json:"name"`
	// Kind is the exchange type (JSON "type").
	Kind Kind `json:"type"`
	// Durable exchanges survive a broker restart. [NewExchange] sets it.
	Durable bool `json:"durable"`
	// AutoDelete exchanges are deleted when their last binding goes.
	AutoDelete bool `json:"auto_delete,omitempty"`
	// Internal exchanges take no publishes, only exchange-to-exchange routes.
	Internal bool `json:"internal,omitempty"`
	// Passive declares only check that the exchange exists.
	Passive bool `json:"passive,omitempty"`
	// NoDeclare marks an exchange that kelp must never declare.
	NoDeclare bool `json:"no_declare,omitempty"`
	// DeliveryMode is the default mode of messages published to this
	// exchange; unset means [Persistent].
	DeliveryMode DeliveryMode `json:"delivery_mode,omitempty"`
	// Arguments are the exchange's x-arguments (alternate-exchange, ...).
	Arguments Table `json:"arguments,omitempty"`
}

// NewExchange returns a durable exchange (Kombu's default). An empty kind
// gives [Direct].
func NewExchange(name string, kind Kind) Exchange {
	if kind == "" {
		kind = Direct
	}
	return Exchange{Name: name, Kind: kind, Durable: true}
}

// Validate reports every problem of e, joined, each matching
// [ErrInvalidExchange] (and [ErrUnknownKind] or [ErrInvalidDeliveryMode]
// where that is the cause).
func (e Exchange) Validate() error { return errors.Join(e.problems()...) }

func (e Exchange) problems() []error {
	var errs []error
	if !e.Kind.Valid() {
		errs = append(errs, invalidf(ErrInvalidExchange, e.Name, ErrUnknownKind,
			"unknown kind %q (want direct, topic, fanout or headers)", e.Kind))
	}
	if len(e.Name) > maxNameLen {
		errs = append(errs, invalidf(ErrInvalidExchange, e.Name, nil,
			"name is %d bytes long, the limit is %d", len(e.Name), maxNameLen))
	}
	if e.DeliveryMode != 0 && !e.DeliveryMode.Valid() {
		errs = append(errs, invalidf(ErrInvalidExchange, e.Name, ErrInvalidDeliveryMode,
			"delivery mode %d is neither 1 (transient) nor 2 (persistent)", e.DeliveryMode))
	}
	return errs
}

// ShouldDeclare reports whether kelp declares e: not when NoDeclare is set,
// not for the default exchange "" and not for the broker's own "amq."
// exchanges (Kombu's rule).
func (e Exchange) ShouldDeclare() bool {
	return !e.NoDeclare && e.Name != "" && !strings.HasPrefix(e.Name, "amq.")
}

// CanCache reports whether a declaration of e may be remembered and skipped
// next time: not for an auto-delete exchange, which may be gone (Kombu's
// rule).
func (e Exchange) CanCache() bool { return !e.AutoDelete }

// Key returns a stable key of e's full definition: two exchanges have the
// same key when every field is equal (numbers in Arguments compare by
// value). MaybeDeclare caches declarations by it.
func (e Exchange) Key() string { return "E" + definitionKey(e) }

// Clone returns a copy of e that shares no memory with it.
func (e Exchange) Clone() Exchange {
	e.Arguments = e.Arguments.Clone()
	return e
}

// exchangeAlias has Exchange's fields without its methods.
type exchangeAlias Exchange

// UnmarshalJSON decodes e, applying Kombu's defaults to absent fields:
// durable true, type direct.
func (e *Exchange) UnmarshalJSON(data []byte) error {
	a := exchangeAlias{Kind: Direct}
	w := struct {
		*exchangeAlias
		Durable *bool `json:"durable"`
	}{exchangeAlias: &a}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	a.Durable = w.Durable == nil || *w.Durable
	*e = Exchange(a)
	return nil
}

// definitionKey encodes v canonically: JSON with sorted map keys. A value
// JSON cannot encode (a NaN, a channel in Arguments) falls back to Go syntax,
// which is still deterministic.
func definitionKey(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
