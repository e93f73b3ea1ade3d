package route_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/route"
)

func TestNewExchange(t *testing.T) {
	got := route.NewExchange("tasks", route.Topic)
	want := route.Exchange{Name: "tasks", Kind: route.Topic, Durable: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NewExchange = %+v, want %+v", got, want)
	}
	if got := route.NewExchange("x", ""); got.Kind != route.Direct {
		t.Errorf("NewExchange with empty kind: Kind = %q, want direct", got.Kind)
	}
}

func TestExchangeValidate(t *testing.T) {
	tests := []struct {
		name   string
		ex     route.Exchange
		wantIs []error
	}{
		{"direct", route.NewExchange("a", route.Direct), nil},
		{"default exchange", route.NewExchange("", route.Direct), nil},
		{"modes", route.Exchange{Name: "m", Kind: route.Fanout, DeliveryMode: route.Transient}, nil},
		{"max name", route.NewExchange(strings.Repeat("n", 255), route.Topic), nil},
		{"unset kind", route.Exchange{Name: "a"}, []error{route.ErrInvalidExchange, route.ErrUnknownKind}},
		{"unknown kind", route.Exchange{Name: "a", Kind: "x-delayed"}, []error{route.ErrInvalidExchange, route.ErrUnknownKind}},
		{"long name", route.NewExchange(strings.Repeat("n", 256), route.Topic), []error{route.ErrInvalidExchange}},
		{"delivery mode", route.Exchange{Name: "a", Kind: route.Direct, DeliveryMode: 3},
			[]error{route.ErrInvalidExchange, route.ErrInvalidDeliveryMode}},
		{"every problem", route.Exchange{Name: strings.Repeat("n", 256), Kind: "bad", DeliveryMode: 9},
			[]error{route.ErrInvalidExchange, route.ErrUnknownKind, route.ErrInvalidDeliveryMode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkInvalid(t, tt.ex.Validate(), tt.wantIs, "route: invalid exchange ")
		})
	}
}

// checkInvalid checks a Validate result: nil when wantIs is nil, otherwise an
// error matching every sentinel in wantIs whose every line starts with prefix.
func checkInvalid(t *testing.T, err error, wantIs []error, prefix string) {
	t.Helper()
	if wantIs == nil {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	for _, want := range wantIs {
		if !errors.Is(err, want) {
			t.Errorf("Validate() = %v; not %v", err, want)
		}
	}
	// Every problem, one a line, names the entity.
	for line := range strings.Lines(err.Error()) {
		if !strings.HasPrefix(line, prefix) {
			t.Errorf("Validate() line %q does not start with %q", line, prefix)
		}
	}
}

func TestExchangeShouldDeclareAndCanCache(t *testing.T) {
	tests := []struct {
		ex      route.Exchange
		declare bool
		cache   bool
	}{
		{route.NewExchange("tasks", route.Direct), true, true},
		{route.NewExchange("", route.Direct), false, true},
		{route.NewExchange("amq.topic", route.Topic), false, true},
		{route.NewExchange("amqx", route.Topic), true, true},
		{route.Exchange{Name: "x", Kind: route.Direct, NoDeclare: true}, false, true},
		{route.Exchange{Name: "x", Kind: route.Direct, AutoDelete: true}, true, false},
	}
	for _, tt := range tests {
		if got := tt.ex.ShouldDeclare(); got != tt.declare {
			t.Errorf("%+v.ShouldDeclare() = %v, want %v", tt.ex, got, tt.declare)
		}
		if got := tt.ex.CanCache(); got != tt.cache {
			t.Errorf("%+v.CanCache() = %v, want %v", tt.ex, got, tt.cache)
		}
	}
}

// fullExchange sets every field of an Exchange to a non-zero value.
func fullExchange() route.Exchange {
	return route.Exchange{
		Name: "ex", Kind: route.Headers, Durable: true, AutoDelete: true, Internal: true,
		Passive: true, NoDeclare: true, DeliveryMode: route.Transient,
		Arguments: route.Table{"alternate-exchange": "ae"},
	}
}

// eachFieldChanged returns copies of v (a struct) in which one field at a
// time is changed to a different, non-zero value.
func eachFieldChanged[T any](t *testing.T, v T, other func(field string) any) map[string]T {
	t.Helper()
	out := map[string]T{}
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		c := reflect.New(rv.Type()).Elem()
		c.Set(rv)
		fv := c.Field(i)
		switch fv.Kind() {
		case reflect.Bool:
			fv.SetBool(!fv.Bool())
		case reflect.String:
			fv.SetString(fv.String() + "2")
		case reflect.Int64:
			fv.SetInt(fv.Int() + 1000000)
		case reflect.Uint8:
			fv.SetUint(fv.Uint() + 1)
		default:
			fv.Set(reflect.ValueOf(other(f.Name)))
		}
		out[f.Name] = c.Interface().(T)
	}
	return out
}

func TestExchangeKey(t *testing.T) {
	base := fullExchange()
	if base.Key() != fullExchange().Key() {
		t.Fatal("equal exchanges have different keys")
	}
	for field, changed := range eachFieldChanged(t, base, func(string) any {
		return route.Table{"alternate-exchange": "other"}
	}) {
		if changed.Key() == base.Key() {
			t.Errorf("changing %s does not change Key()", field)
		}
	}
	// Numbers of different Go types with the same value are one definition.
	a := route.Exchange{Name: "x", Kind: route.Direct, Arguments: route.Table{"n": 5}}
	b := route.Exchange{Name: "x", Kind: route.Direct, Arguments: route.Table{"n": int64(5)}}
	if a.Key() != b.Key() {
		t.Errorf("int 5 and int64 5 give different keys: %s vs %s", a.Key(), b.Key())
	}
}

func TestExchangeClone(t *testing.T) {
	e := fullExchange()
	c := e.Clone()
	c.Arguments["alternate-exchange"] = "changed"
	if e.Arguments["alternate-exchange"] != "ae" {
		t.Error("changing the clone's arguments changed the original")
	}
}
