package route_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/kelpmq/kelp/route"
)

// parseCase is one input of a parser and what it should give; wantErr
// means an error matching the parser's sentinel.
type parseCase[T comparable] struct {
	in      string
	want    T
	wantErr bool
}

func checkParse[T comparable](t *testing.T, name string, parse func(string) (T, error), sentinel error, tests []parseCase[T]) {
	t.Helper()
	for _, tt := range tests {
		got, err := parse(tt.in)
		if tt.wantErr {
			if !errors.Is(err, sentinel) {
				t.Errorf("%s(%s) error = %v, want %v", name, tt.in, err, sentinel)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s(%s) = %v, %v; want %v", name, tt.in, got, err, tt.want)
		}
	}
}

func TestParseKind(t *testing.T) {
	checkParse(t, "ParseKind", route.ParseKind, route.ErrUnknownKind, []parseCase[route.Kind]{
		{"direct", route.Direct, false},
		{"topic", route.Topic, false},
		{"fanout", route.Fanout, false},
		{"headers", route.Headers, false},
		{"", route.Direct, false}, // Kombu: type or 'direct'
		{"Direct", "", true},      // brokers spell kinds in lower case
		{"x-delayed-message", "", true},
		{" direct", "", true},
	})
}

func TestKindValid(t *testing.T) {
	for _, k := range []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers} {
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	for _, k := range []route.Kind{"", "DIRECT", "match"} {
		if k.Valid() {
			t.Errorf("%q.Valid() = true", k)
		}
	}
}

func TestParseDeliveryMode(t *testing.T) {
	checkParse(t, "ParseDeliveryMode", route.ParseDeliveryMode, route.ErrInvalidDeliveryMode, []parseCase[route.DeliveryMode]{
		{"1", route.Transient, false},
		{"2", route.Persistent, false},
		{"transient", route.Transient, false},
		{"non-persistent", route.Transient, false},
		{"persistent", route.Persistent, false},
		{"PERSISTENT", route.Persistent, false},
		{"", 0, false},
		{"0", 0, true},
		{"3", 0, true},
		{"durable", 0, true},
	})
}

func TestDeliveryModeMethods(t *testing.T) {
	tests := []struct {
		m         route.DeliveryMode
		valid     bool
		orDefault route.DeliveryMode
		str       string
	}{
		{0, false, route.Persistent, "unset"},
		{route.Transient, true, route.Transient, "transient"},
		{route.Persistent, true, route.Persistent, "persistent"},
		{7, false, 7, "DeliveryMode(7)"},
	}
	for _, tt := range tests {
		if got := tt.m.Valid(); got != tt.valid {
			t.Errorf("%d.Valid() = %v", tt.m, got)
		}
		if got := tt.m.OrDefault(); got != tt.orDefault {
			t.Errorf("%d.OrDefault() = %v", tt.m, got)
		}
		if got := tt.m.String(); got != tt.str {
			t.Errorf("%d.String() = %q, want %q", tt.m, got, tt.str)
		}
	}
}

func TestDeliveryModeJSON(t *testing.T) {
	unmarshal := func(in string) (route.DeliveryMode, error) {
		var m route.DeliveryMode
		err := json.Unmarshal([]byte(in), &m)
		return m, err
	}
	checkParse(t, "Unmarshal", unmarshal, route.ErrInvalidDeliveryMode, []parseCase[route.DeliveryMode]{
		{`1`, route.Transient, false},
		{`2`, route.Persistent, false},
		{`0`, 0, false},
		{`null`, 0, false},
		{`"transient"`, route.Transient, false},
		{`"non-persistent"`, route.Transient, false},
		{`"persistent"`, route.Persistent, false},
		{`"2"`, route.Persistent, false},
		{`3`, 0, true},
		{`2.0`, 0, true},
		{`"sometimes"`, 0, true},
		{`true`, 0, true},
	})
	b, err := json.Marshal(route.Transient)
	if err != nil || string(b) != "1" {
		t.Errorf("Marshal(Transient) = %s, %v; want 1", b, err)
	}
}
