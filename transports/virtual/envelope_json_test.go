package virtual_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

func TestEnvelopeJSONRoundTrip(t *testing.T) {
	full := virtual.Envelope{
		Message: transports.Message{
			Body:    []byte{0, 1, 2, 0xff},
			Headers: route.Table{"s": "x", "n": int64(-3), "f": 1.5, "b": true, "t": route.Table{"k": "v"}, "l": []any{"a", int64(1)}},
			Properties: transports.Properties{
				ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: route.Persistent,
				Priority: 7, CorrelationID: "c", ReplyTo: "r", Expiration: "1000", MessageID: "m",
				Timestamp: time.Unix(1700000000, 0), Type: "ty", UserID: "u", AppID: "a",
			},
		},
		Exchange: "ex", RoutingKey: "rk", Redelivered: true, Expires: time.Unix(1700000001, 5),
	}
	for _, tc := range []struct {
		name string
		env  virtual.Envelope
	}{
		{"empty", virtual.Envelope{}},
		{"full", full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := virtual.MarshalEnvelope(&tc.env)
			if err != nil {
				t.Fatal(err)
			}
			var got virtual.Envelope
			if err := virtual.UnmarshalEnvelope(b, &got); err != nil {
				t.Fatal(err)
			}
			if len(tc.env.Body) == 0 {
				tc.env.Body = []byte{}
			}
			if !reflect.DeepEqual(got, tc.env) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, tc.env)
			}
		})
	}
}

func TestUnmarshalEnvelopeRefusesCorruptInput(t *testing.T) {
	for _, in := range []string{"", "{", "[]", `{"v":2,"body":""}`, `{"v":1,"body":"!!"}`, "\x00\x01"} {
		var env virtual.Envelope
		if err := virtual.UnmarshalEnvelope([]byte(in), &env); !errors.Is(err, virtual.ErrBadEnvelope) {
			t.Errorf("UnmarshalEnvelope(%q) = %v, want ErrBadEnvelope", in, err)
		}
	}
}

func TestMarshalEnvelopeRefusesUnencodableHeaders(t *testing.T) {
	env := virtual.Envelope{Message: transports.Message{Headers: route.Table{"c": make(chan int)}}}
	if _, err := virtual.MarshalEnvelope(&env); err == nil {
		t.Fatal("MarshalEnvelope accepted a channel header")
	}
}
