package redis

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	in := virtual.Envelope{
		Message: transports.Message{
			Body:    []byte{0, 1, 2, 'x'},
			Headers: route.Table{"h": "v", "n": int64(3), "nested": route.Table{"f": 1.5}},
			Properties: transports.Properties{ContentType: "application/data", ContentEncoding: "binary",
				DeliveryMode: 2, Priority: 7, CorrelationID: "c", ReplyTo: "r", Expiration: "1000",
				MessageID: "m", Timestamp: time.Unix(1700000000, 0), Type: "t", UserID: "u", AppID: "a"},
		},
		Exchange: "ex", RoutingKey: "rk", Redelivered: true, Expires: time.UnixMilli(1700000000123),
	}
	raw, err := encodeEnvelope(&in, "tag-1")
	if err != nil {
		t.Fatal(err)
	}
	var out virtual.Envelope
	tag, err := decodeEnvelope(raw, &out)
	if err != nil || tag != "tag-1" {
		t.Fatalf("decode: %q, %v", tag, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	// The wire carries Kombu's shape.
	var w map[string]any
	_ = json.Unmarshal(raw, &w)
	props := w["properties"].(map[string]any)
	if props["body_encoding"] != "base64" || props["priority"] != float64(2) ||
		props["delivery_info"].(map[string]any)["routing_key"] != "rk" || w["content-type"] != "application/data" {
		t.Errorf("wire envelope %s", raw)
	}
}

func TestPriorityMapping(t *testing.T) {
	for _, tc := range []struct {
		amqp  uint8
		kombu int
	}{{0, 9}, {1, 8}, {5, 4}, {9, 0}, {200, 0}} {
		if got := kombuPriority(tc.amqp); got != tc.kombu {
			t.Errorf("kombuPriority(%d) = %d, want %d", tc.amqp, got, tc.kombu)
		}
		if tc.amqp <= 9 && amqpPriority(float64(tc.kombu)) != tc.amqp {
			t.Errorf("amqpPriority(%d) = %d, want %d", tc.kombu, amqpPriority(float64(tc.kombu)), tc.amqp)
		}
	}
}
