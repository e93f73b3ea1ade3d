package route_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/kelpmq/kelp/route"
)

func TestParseKind(t *testing.T) {
	tests := []struct {
		in      string
		want    route.Kind
		wantErr bool
	}{
		{"direct", route.Direct, false},
		{"topic", route.Topic, false},
		{"fanout", route.Fanout, false},
		{"headers", route.Headers, false},
		{"", route.Direct, false}, // Kombu: type or 'direct'
		{"Direct", "", true},      // brokers spell kinds in lower case
		{"x-delayed-message", "", true},
		{" direct", "", true},
	}
	for _, tt := range tests {
		got, err := route.ParseKind(tt.in)
		if tt.wantErr {
			if !errors.Is(err, route.ErrUnknownKind) {
				t.Errorf("ParseKind(%q) error = %v, want ErrUnknownKind", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
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
	tests := []struct {
		in      string
		want    route.DeliveryMode
		wantErr bool
	}{
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
	}
	for _, tt := range tests {
		got, err := route.ParseDeliveryMode(tt.in)
		if tt.wantErr {
			if !errors.Is(err, route.ErrInvalidDeliveryMode) {
				t.Errorf("ParseDeliveryMode(%q) error = %v, want ErrInvalidDeliveryMode", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDeliveryMode(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
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
	tests := []struct {
		in      string
		want    route.DeliveryMode
		wantErr bool
	}{
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
	}
	for _, tt := range tests {
		var got route.DeliveryMode
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr {
			if !errors.Is(err, route.ErrInvalidDeliveryMode) {
				t.Errorf("Unmarshal(%s) error = %v, want ErrInvalidDeliveryMode", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	b, err := json.Marshal(route.Transient)
	if err != nil || string(b) != "1" {
		t.Errorf("Marshal(Transient) = %s, %v; want 1", b, err)
	}
}
