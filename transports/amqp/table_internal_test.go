package amqp

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/route"
)

type named string

func TestToAMQPTable(t *testing.T) {
	now := time.Unix(1700000000, 0)
	in := route.Table{
		"s": "x", "b": true, "nil": nil, "bytes": []byte{0, 1},
		"i8": int8(-8), "u8": uint8(8), "i16": int16(-16), "u16": uint16(16),
		"i32": int32(-32), "u32": uint32(32), "i64": int64(-64), "int": math.MaxInt32 + 1,
		"uint": uint(7), "u64": uint64(64), "f32": float32(1.5), "f64": 2.5,
		"time": now, "dec": Decimal{Scale: 2, Value: 1250}, "dec91": amqp091.Decimal{Scale: 1, Value: 5},
		"jsonInt": json.Number("12"), "jsonFloat": json.Number("1.25"),
		"named": named("n"), "strs": []string{"a", "b"},
		"nested": route.Table{"m": map[string]any{"k": []any{int(1), route.Table{}}}},
		"smap":   map[string]int{"one": 1},
	}
	got, err := toAMQPTable("headers", in)
	if err != nil {
		t.Fatal(err)
	}
	want := amqp091.Table{
		"s": "x", "b": true, "nil": nil, "bytes": []byte{0, 1},
		"i8": int8(-8), "u8": uint8(8), "i16": int16(-16), "u16": uint16(16),
		"i32": int32(-32), "u32": uint32(32), "i64": int64(-64), "int": int64(math.MaxInt32 + 1),
		"uint": int64(7), "u64": int64(64), "f32": float32(1.5), "f64": 2.5,
		"time": now, "dec": amqp091.Decimal{Scale: 2, Value: 1250}, "dec91": amqp091.Decimal{Scale: 1, Value: 5},
		"jsonInt": int64(12), "jsonFloat": 1.25,
		"named": "n", "strs": []any{"a", "b"},
		"nested": amqp091.Table{"m": amqp091.Table{"k": []any{int64(1), amqp091.Table{}}}},
		"smap":   amqp091.Table{"one": int64(1)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("amqp091 refuses the converted table: %v", err)
	}

	// And back: nested tables become route.Table, decimals Decimal, the
	// rest keeps the wire's Go type.
	back := fromAMQPTable(got)
	if d, ok := back["dec"].(Decimal); !ok || d.String() != "12.50" {
		t.Errorf("decimal came back as %#v", back["dec"])
	}
	nested, ok := back["nested"].(route.Table)
	if !ok {
		t.Fatalf("nested table came back as %T", back["nested"])
	}
	if _, ok := nested["m"].(route.Table)["k"].([]any)[1].(route.Table); !ok {
		t.Errorf("table in array came back as %T", nested["m"].(route.Table)["k"].([]any)[1])
	}
	if fromAMQPTable(nil) != nil {
		t.Error("nil table must stay nil")
	}
	if tbl, err := toAMQPTable("headers", route.Table{}); tbl != nil || err != nil {
		t.Errorf("empty table = %v, %v; want nil, nil", tbl, err)
	}
}

func TestToAMQPTableErrors(t *testing.T) {
	cyclic := route.Table{}
	cyclic["self"] = cyclic
	list := []any{nil}
	list[0] = list
	for name, tc := range map[string]struct {
		in      route.Table
		mention string
	}{
		"chan":     {route.Table{"c": make(chan int)}, `key "c"`},
		"func":     {route.Table{"f": func() {}}, "func()"},
		"struct":   {route.Table{"s": struct{}{}}, "struct"},
		"pointer":  {route.Table{"p": new(int)}, "*int"},
		"big uint": {route.Table{"u": uint64(math.MaxUint64)}, "int64"},
		"deep":     {route.Table{"t": route.Table{"x": []any{make(chan int)}}}, `key "t": key "x": array index 0`},
		"int map":  {route.Table{"m": map[int]string{1: "a"}}, "map[int]string"},
		"long key": {route.Table{strings.Repeat("k", 256): 1}, "256 bytes"},
		"cycle":    {cyclic, "nested deeper"},
		"cycle2":   {route.Table{"l": list}, "nested deeper"},
		"json":     {route.Table{"n": json.Number("x")}, "not a number"},
	} {
		_, err := toAMQPTable("headers", tc.in)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want ErrInvalidArgument mentioning %q", name, err, tc.mention)
		}
	}
}

func TestDecimalString(t *testing.T) {
	for _, tc := range []struct {
		d    Decimal
		want string
	}{
		{Decimal{0, 5}, "5"}, {Decimal{2, 1250}, "12.50"}, {Decimal{3, 5}, "0.005"},
		{Decimal{2, -5}, "-0.05"}, {Decimal{1, -1234}, "-123.4"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.d, got, tc.want)
		}
	}
}
