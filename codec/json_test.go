package codec_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/codec"
)

func TestJSONMarkers(t *testing.T) {
	ist := time.FixedZone("", 5*3600+30*60)
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"datetime with offset", `{"__type__": "datetime", "__value__": "2024-02-29T13:14:15.123456+05:30"}`, time.Date(2024, 2, 29, 13, 14, 15, 123456000, ist)},
		{"datetime Z", `{"__type__": "datetime", "__value__": "2024-02-29T13:14:15Z"}`, time.Date(2024, 2, 29, 13, 14, 15, 0, time.UTC)},
		{"datetime naive is UTC", `{"__type__": "datetime", "__value__": "2024-02-29 13:14"}`, time.Date(2024, 2, 29, 13, 14, 0, 0, time.UTC)},
		{"datetime negative offset", `{"__type__": "datetime", "__value__": "2024-01-01T00:00:00-08:00"}`, time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", -8*3600))},
		{"datetime date only", `{"__type__": "datetime", "__value__": "2024-01-01"}`, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"date", `{"__type__": "date", "__value__": "1999-12-31"}`, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"time", `{"__type__": "time", "__value__": "23:59:58.000001"}`, time.Date(0, 1, 1, 23, 59, 58, 1000, time.UTC)},
		{"time with offset", `{"__type__": "time", "__value__": "10:00:00+01:00"}`, time.Date(0, 1, 1, 10, 0, 0, 0, time.FixedZone("", 3600))},
		{"decimal", `{"__type__": "decimal", "__value__": "-1E+3"}`, "-1E+3"},
		{"decimal number", `{"__type__": "decimal", "__value__": 2.50}`, "2.50"},
		{"uuid dict", `{"__type__": "uuid", "__value__": {"hex": "0D3B5E7E8F4A4C1B9A2E6C7D8E9F0A1B", "version": 4}}`, "0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b"},
		{"uuid string", `{"__type__": "uuid", "__value__": "{0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b}"}`, "0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b"},
		{"bytes", `{"__type__": "bytes", "__value__": "h\u00e9"}`, []byte("h\u00e9")},
		{"base64", `{"__type__": "base64", "__value__": "AAEC/w=="}`, []byte{0, 1, 2, 255}},
		{"base64 unpadded", `{"__type__": "base64", "__value__": "AAEC/w"}`, []byte{0, 1, 2, 255}},
		{"three keys is not a marker", `{"__type__": "date", "__value__": "x", "z": 1}`, map[string]any{"__type__": "date", "__value__": "x", "z": json.Number("1")}},
		{"one key is not a marker", `{"__type__": "date"}`, map[string]any{"__type__": "date"}},
		{"nested in array", `[{"__type__": "bytes", "__value__": "a"}, 1]`, []any{[]byte("a"), json.Number("1")}},
		{"numbers are json.Number", `[1, -2.5e3, 123456789012345678901234567890]`, []any{json.Number("1"), json.Number("-2.5e3"), json.Number("123456789012345678901234567890")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			if err := (codec.JSON{}).Decode([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !equalValues(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestJSONMarkerErrors(t *testing.T) {
	bad := map[string]string{
		"unknown type":    `{"__type__": "set", "__value__": [1]}`,
		"type not string": `{"__type__": 1, "__value__": "x"}`,
		"bad datetime":    `{"__type__": "datetime", "__value__": "2024-13-01T00:00:00"}`,
		"feb 30":          `{"__type__": "date", "__value__": "2023-02-29"}`,
		"bad hour":        `{"__type__": "time", "__value__": "24:00:00"}`,
		"datetime number": `{"__type__": "datetime", "__value__": 17}`,
		"date with time":  `{"__type__": "date", "__value__": "2024-01-01T00:00:00"}`,
		"bad offset":      `{"__type__": "datetime", "__value__": "2024-01-01T00:00:00+25:00"}`,
		"bad uuid":        `{"__type__": "uuid", "__value__": {"hex": "xyz"}}`,
		"bad base64":      `{"__type__": "base64", "__value__": "!!!"}`,
		"bytes not str":   `{"__type__": "bytes", "__value__": [1]}`,
		"deep unknown":    `{"a": [{"b": {"__type__": "nope", "__value__": null}}]}`,
		"syntax":          `{"a": `,
		"trailing data":   `{} {}`,
	}
	for name, in := range bad {
		var v any
		err := codec.Default.Decode("application/json", "utf-8", []byte(in), nil, &v)
		if !errors.Is(err, codec.ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", name, err)
		}
	}
}

func TestJSONStructTargetsSeeLoweredMarkers(t *testing.T) {
	var msg struct {
		When  time.Time `json:"when"`
		Day   time.Time `json:"day"`
		Blob  []byte    `json:"blob"`
		Price string    `json:"price"`
		ID    string    `json:"id"`
		N     int64     `json:"n"`
	}
	body := `{"when": {"__type__": "datetime", "__value__": "2024-05-06T07:08:09.5+02:00"},
		"day": {"__type__": "date", "__value__": "2024-05-06"},
		"blob": {"__type__": "base64", "__value__": "3q2+7w=="},
		"price": {"__type__": "decimal", "__value__": "9.99"},
		"id": {"__type__": "uuid", "__value__": {"hex": "0d3b5e7e8f4a4c1b9a2e6c7d8e9f0a1b", "version": 4}},
		"n": 9007199254740993}`
	if err := (codec.JSON{}).Decode([]byte(body), &msg); err != nil {
		t.Fatal(err)
	}
	if !msg.When.Equal(time.Date(2024, 5, 6, 5, 8, 9, 5e8, time.UTC)) || !msg.Day.Equal(time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("times: %v, %v", msg.When, msg.Day)
	}
	if string(msg.Blob) != "\xde\xad\xbe\xef" || msg.Price != "9.99" || msg.ID != "0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b" {
		t.Errorf("decoded %+v", msg)
	}
	if msg.N != 9007199254740993 {
		t.Errorf("n = %d: precision lost while lowering markers", msg.N)
	}
}

func TestJSONTypedTargets(t *testing.T) {
	var m map[string]any
	if err := (codec.JSON{}).Decode([]byte(`{"a": {"__type__": "bytes", "__value__": "x"}}`), &m); err != nil {
		t.Fatal(err)
	}
	if b, ok := m["a"].([]byte); !ok || string(b) != "x" {
		t.Fatalf("map target: %#v", m)
	}
	var s []any
	if err := (codec.JSON{}).Decode([]byte(`{"a": 1}`), &s); !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("object into *[]any: err = %v", err)
	}
	var n int
	if err := (codec.JSON{}).Decode([]byte(`"str"`), &n); !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("string into *int: err = %v", err)
	}
}

func TestJSONEncode(t *testing.T) {
	body, ct, enc, err := codec.Default.Encode("json", map[string]any{"html": "<a&b>", "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if ct != "application/json" || enc != "utf-8" {
		t.Fatalf("content type %q, encoding %q", ct, enc)
	}
	if got := string(body); got != `{"html":"<a&b>","n":1}` {
		t.Fatalf("body %s: want no HTML escaping and no trailing newline", got)
	}
	_, _, _, err = codec.Default.Encode("json", func() {})
	if !errors.Is(err, codec.ErrEncode) {
		t.Fatalf("func: err = %v, want ErrEncode", err)
	}
}

func TestJSONDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	var v any
	if err := (codec.JSON{}).Decode([]byte(deep), &v); !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("err = %v, want ErrDecode", err)
	}
}
