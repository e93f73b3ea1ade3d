package route_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
)

// roundTrip marshals v and unmarshals the result into a new T.
func roundTrip[T any](t *testing.T, v T) (T, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", v, err)
	}
	var got T
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
	return got, b
}

func TestExchangeJSONRoundTrip(t *testing.T) {
	for _, ex := range []route.Exchange{
		route.NewExchange("tasks", route.Direct),
		route.NewExchange("", route.Direct),
		{Name: "transient", Kind: route.Fanout}, // durable false must survive
		fullExchange(),
		{Name: "args", Kind: route.Topic, Durable: true, DeliveryMode: route.Persistent, Arguments: route.Table{
			"i": int64(-7), "f": 0.25, "s": "x", "b": false, "n": nil,
			"t": route.Table{"u": []any{int64(1), "two", route.Table{}}},
		}},
	} {
		got, b := roundTrip(t, ex)
		if !reflect.DeepEqual(got, ex) {
			t.Errorf("round trip of %#v via %s gave %#v", ex, b, got)
		}
	}
}

func TestQueueJSONRoundTrip(t *testing.T) {
	for _, q := range []route.Queue{
		route.NewQueue("q"),
		{Name: "transient"},
		fullQueue(),
		{Name: "odd durations", MessageTTL: 1234567 * time.Microsecond, Expires: 90*time.Minute + time.Nanosecond},
		{Name: "negative", MessageTTL: -time.Second}, // invalid, but still round-trips
		{Name: "x", Durable: true, Exclusive: true, AutoDelete: true, Bindings: []route.Binding{
			{Exchange: route.Exchange{Name: "e", Kind: route.Headers}, RoutingKey: "", Arguments: route.Table{"x-match": "all"}},
		}},
	} {
		got, b := roundTrip(t, q)
		if !reflect.DeepEqual(got, q) {
			t.Errorf("round trip of %#v via %s gave %#v", q, b, got)
		}
	}
}

func TestQueueJSONShape(t *testing.T) {
	q := route.Queue{Name: "q", MessageTTL: 1500 * time.Millisecond}
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "q", "durable": false, "message_ttl": "1.5s"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Marshal = %s, want the fields %v", b, want)
	}
}

func TestJSONDefaults(t *testing.T) {
	var ex route.Exchange
	if err := json.Unmarshal([]byte(`{"name": "tasks"}`), &ex); err != nil {
		t.Fatal(err)
	}
	if want := route.NewExchange("tasks", route.Direct); !reflect.DeepEqual(ex, want) {
		t.Errorf("absent durable and type: %+v, want %+v", ex, want)
	}
	tests := []struct {
		in   string
		want route.Exchange
	}{
		{`{"name": "e", "type": ""}`, route.Exchange{Name: "e", Kind: route.Direct, Durable: true}},
		{`{"name": "e", "type": null, "durable": null}`, route.Exchange{Name: "e", Kind: route.Direct, Durable: true}},
		{`{"name": "e", "type": "topic", "durable": false}`, route.Exchange{Name: "e", Kind: route.Topic}},
		{`{"name": "e", "delivery_mode": "transient"}`,
			route.Exchange{Name: "e", Kind: route.Direct, Durable: true, DeliveryMode: route.Transient}},
	}
	for _, tt := range tests {
		var got route.Exchange
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}

	var q route.Queue
	in := `{"name": "q", "bindings": [{"exchange": {"name": "t", "type": "topic"}, "routing_key": "a.#"}]}`
	if err := json.Unmarshal([]byte(in), &q); err != nil {
		t.Fatal(err)
	}
	if want := route.NewQueue("q", route.Bind(route.NewExchange("t", route.Topic), "a.#")); !reflect.DeepEqual(q, want) {
		t.Errorf("Unmarshal(%s) = %+v, want %+v", in, q, want)
	}
	// Decoding into a used value replaces it wholly.
	if err := json.Unmarshal([]byte(`{"name": "other", "durable": false}`), &q); err != nil {
		t.Fatal(err)
	}
	if want := (route.Queue{Name: "other"}); !reflect.DeepEqual(q, want) {
		t.Errorf("second Unmarshal = %+v, want %+v", q, want)
	}
}

func TestQueueJSONDurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{`10`, 10 * time.Second},
		{`1.5`, 1500 * time.Millisecond},
		{`0.001`, time.Millisecond},
		{`0.1`, 100 * time.Millisecond},
		{`1e3`, 1000 * time.Second},
		{`2.5E-1`, 250 * time.Millisecond},
		{`-1`, -time.Second},
		{`0`, 0},
		{`null`, 0},
		{`"250ms"`, 250 * time.Millisecond},
		{`"1h2m3.5s"`, time.Hour + 2*time.Minute + 3500*time.Millisecond},
	}
	for _, tt := range tests {
		var q route.Queue
		in := `{"name": "q", "message_ttl": ` + tt.in + `, "expires": ` + tt.in + `}`
		if err := json.Unmarshal([]byte(in), &q); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
			continue
		}
		if q.MessageTTL != tt.want || q.Expires != tt.want {
			t.Errorf("%s: message_ttl %v, expires %v; want %v", tt.in, q.MessageTTL, q.Expires, tt.want)
		}
	}
	for _, bad := range []string{`"abc"`, `"10"`, `true`, `{}`, `[1]`, `1e400`, `9300000000`, `"9999999h"`} {
		var q route.Queue
		err := json.Unmarshal([]byte(`{"name": "q", "expires": `+bad+`}`), &q)
		if !errors.Is(err, route.ErrInvalidDuration) {
			t.Errorf("expires %s: error = %v, want ErrInvalidDuration", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), "expires") {
			t.Errorf("expires %s: error %q does not name the field", bad, err)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	var ex route.Exchange
	if err := json.Unmarshal([]byte(`{"name": "e", "type": "x-delayed-message"}`), &ex); !errors.Is(err, route.ErrUnknownKind) {
		t.Errorf("unknown type: error = %v, want ErrUnknownKind", err)
	}
	if err := json.Unmarshal([]byte(`{"name": "e", "delivery_mode": 5}`), &ex); !errors.Is(err, route.ErrInvalidDeliveryMode) {
		t.Errorf("bad delivery mode: error = %v, want ErrInvalidDeliveryMode", err)
	}
	var q route.Queue
	if err := json.Unmarshal([]byte(`{"name": "q", "bindings": [{"exchange": {"type": "nope"}}]}`), &q); !errors.Is(err, route.ErrUnknownKind) {
		t.Errorf("unknown type in a binding: error = %v, want ErrUnknownKind", err)
	}
	if err := json.Unmarshal([]byte(`{"name": 5}`), &q); err == nil {
		t.Error("a numeric queue name decoded")
	}
}
