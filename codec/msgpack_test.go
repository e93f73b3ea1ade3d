package codec_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/codec"
)

func TestMsgpackDecodeAny(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want any
	}{
		{"nil", []byte{0xc0}, nil},
		{"true", []byte{0xc3}, true},
		{"positive fixint", []byte{0x05}, int64(5)},
		{"negative fixint", []byte{0xff}, int64(-1)},
		{"uint8", []byte{0xcc, 200}, int64(200)},
		{"uint64 max", []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(math.MaxUint64)},
		{"int16", []byte{0xd1, 0xff, 0x7f}, int64(-129)},
		{"int64 min", []byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, int64(math.MinInt64)},
		{"float32", []byte{0xca, 0x3f, 0xc0, 0, 0}, 1.5},
		{"float64", []byte{0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}, math.Pi},
		{"fixstr", []byte{0xa2, 'h', 'i'}, "hi"},
		{"str8", append([]byte{0xd9, 3}, "abc"...), "abc"},
		{"bin8", []byte{0xc4, 2, 0, 0xff}, []byte{0, 0xff}},
		{"fixarray", []byte{0x92, 0x01, 0xa1, 'x'}, []any{int64(1), "x"}},
		{"array16", []byte{0xdc, 0, 1, 0xc2}, []any{false}},
		{"str keys", []byte{0x81, 0xa1, 'k', 0x01}, map[string]any{"k": int64(1)}},
		{"bin keys are strings", []byte{0x81, 0xc4, 1, 'k', 0x01}, map[string]any{"k": int64(1)}},
		{"int keys", []byte{0x82, 0x01, 0xa1, 'a', 0xa1, 'b', 0x02}, map[any]any{int64(1): "a", "b": int64(2)}},
		{"timestamp32", []byte{0xd6, 0xff, 0, 0, 0, 60}, time.Unix(60, 0).UTC()},
		{"timestamp64", []byte{0xd7, 0xff, 0, 0, 0, 4, 0, 0, 0, 60}, time.Unix(60, 1).UTC()},
		{"timestamp96", []byte{0xc7, 12, 0xff, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, time.Unix(-1, 7).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			if err := (codec.Msgpack{}).Decode(tt.in, &got); err != nil {
				t.Fatal(err)
			}
			if tm, ok := tt.want.(time.Time); ok {
				if g, ok := got.(time.Time); !ok || !g.Equal(tm) {
					t.Fatalf("got %#v, want %v", got, tm)
				}
				return
			}
			if !equalValues(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestMsgpackDecodeErrors(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x91}, 20000), 0xc0)
	bad := map[string][]byte{
		"empty":             {},
		"reserved code":     {0xc1},
		"truncated str":     {0xa5, 'a'},
		"truncated uint32":  {0xce, 0, 0},
		"huge array claim":  {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge map claim":    {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01},
		"trailing bytes":    {0x01, 0x02},
		"unknown extension": {0xd4, 0x05, 0x00},
		"bad timestamp len": {0xd5, 0xff, 0, 0},
		"bad nanoseconds":   {0xc7, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0},
		"array key":         {0x81, 0x90, 0x01},
		"map key":           {0x81, 0x80, 0x01},
		"too deep":          deep,
	}
	for name, in := range bad {
		var v any
		if err := (codec.Msgpack{}).Decode(in, &v); !errors.Is(err, codec.ErrDecode) {
			t.Errorf("*any: %s: err = %v, want ErrDecode", name, err)
		}
		var s struct{ A []any }
		if name == "unknown extension" || name == "bad timestamp len" || name == "bad nanoseconds" || name == "array key" || name == "map key" {
			continue // well-formed msgpack; whether a typed target accepts it is the library's call
		}
		if err := (codec.Msgpack{}).Decode(in, &s); !errors.Is(err, codec.ErrDecode) {
			t.Errorf("struct: %s: err = %v, want ErrDecode", name, err)
		}
	}
}

type order struct {
	ID     string         `json:"id"`
	Items  []string       `json:"items"`
	Total  float64        `json:"total"`
	Placed time.Time      `json:"placed"`
	Meta   map[string]any `json:"meta"`
	Blob   []byte         `json:"blob"`
}

func TestMsgpackStructRoundTrip(t *testing.T) {
	in := order{
		ID: "o-1", Items: []string{"a", "b"}, Total: 12.5,
		Placed: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
		Meta:   map[string]any{"n": int64(300), "s": "x"},
		Blob:   []byte{0, 1},
	}
	body, ct, enc, err := codec.Default.Encode("msgpack", in)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "application/x-msgpack" || enc != "binary" {
		t.Fatalf("content type %q, encoding %q", ct, enc)
	}
	// The json tag names the fields on the wire, as Python would see them.
	if !bytes.Contains(body, []byte("\xa6placed")) || !bytes.Contains(body, []byte("\xa2id")) {
		t.Fatalf("field names missing from %q", body)
	}
	var out order
	if err := codec.Default.Decode(ct, enc, body, nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Total != in.Total || !out.Placed.Equal(in.Placed) || !bytes.Equal(out.Blob, in.Blob) ||
		strings.Join(out.Items, ",") != "a,b" || out.Meta["n"] != int64(300) || out.Meta["s"] != "x" {
		t.Fatalf("round trip: %+v", out)
	}
	var generic any
	if err := codec.Default.Decode(ct, enc, body, nil, &generic); err != nil {
		t.Fatal(err)
	}
	m := generic.(map[string]any)
	if m["total"] != 12.5 || m["meta"].(map[string]any)["n"] != int64(300) {
		t.Fatalf("generic decode: %#v", m)
	}
	if b, ok := m["blob"].([]byte); !ok || !bytes.Equal(b, in.Blob) {
		t.Fatalf("[]byte must travel as bin: %#v", m["blob"])
	}
}

// TestMsgpackTypedTargetsNormalizeInts: Python packs 300 as uint16; an any
// inside a typed target must see int64, as *any does.
func TestMsgpackTypedTargetsNormalizeInts(t *testing.T) {
	body := []byte{0x83,
		0xa1, 'a', 0x92, 0x05, 0xcd, 0x01, 0x2c, // "a": [5, 300]
		0xa1, 'm', 0x81, 0xa1, 'k', 0xcd, 0x01, 0x2c, // "m": {"k": 300}
		0xa1, 'p', 0x91, 0xcd, 0x01, 0x2c, // "p": [300]
	}
	var v struct {
		A any            `json:"a"`
		M map[string]any `json:"m"`
		P *[]any         `json:"p"`
	}
	if err := (codec.Msgpack{}).Decode(body, &v); err != nil {
		t.Fatal(err)
	}
	if !equalValues(v.A, []any{int64(5), int64(300)}) || v.M["k"] != int64(300) || v.P == nil || (*v.P)[0] != int64(300) {
		t.Fatalf("decoded %#v / %#v / %#v", v.A, v.M, v.P)
	}
	var m map[string]map[string]any
	if err := (codec.Msgpack{}).Decode([]byte{0x81, 0xa1, 'x', 0x81, 0xa1, 'k', 0xcd, 0x01, 0x2c}, &m); err != nil {
		t.Fatal(err)
	}
	if m["x"]["k"] != int64(300) {
		t.Fatalf("nested map: %#v", m)
	}
}
