package amqp

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/route"
)

// Decimal is an AMQP decimal field value: Value × 10^-Scale. Header and
// argument tables hold it where the wire has a decimal ('D'); publish one to
// send a decimal.
type Decimal struct {
	// Scale is the number of decimal digits after the point.
	Scale uint8
	// Value is the unscaled value.
	Value int32
}

// String formats d in decimal notation, such as "12.50".
func (d Decimal) String() string {
	neg := d.Value < 0
	digits := strconv.FormatInt(int64(d.Value), 10)
	if neg {
		digits = digits[1:]
	}
	if d.Scale > 0 {
		for len(digits) <= int(d.Scale) {
			digits = "0" + digits
		}
		digits = digits[:len(digits)-int(d.Scale)] + "." + digits[len(digits)-int(d.Scale):]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Limits of what a table may hold: what amqp091-go reads back. Its reader
// refuses tables and arrays nested deeper than 32 levels, or holding more
// than 8192 entries, with a syntax error that closes the connection: a
// message carrying such headers would kill the connection of every
// consumer it reaches, again at each redelivery. The depth limit also
// makes a table containing itself an error instead of a stack overflow.
const (
	maxTableDepth   = 32
	maxTableEntries = 8192
)

// toAMQPTable converts a kelp table to the table amqp091-go writes. See the
// package documentation for the value types it accepts. A nil or empty t
// gives nil. what names the table in errors ("headers", "arguments").
func toAMQPTable(what string, t route.Table) (amqp091.Table, error) {
	if len(t) == 0 {
		return nil, nil
	}
	out, err := toAMQPMap(t, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArgument, what, err)
	}
	return out, nil
}

func toAMQPMap(m map[string]any, depth int) (amqp091.Table, error) {
	if depth > maxTableDepth {
		return nil, fmt.Errorf("tables nested deeper than %d levels", maxTableDepth)
	}
	if len(m) > maxTableEntries {
		return nil, fmt.Errorf("table of %d entries, the limit is %d", len(m), maxTableEntries)
	}
	out := make(amqp091.Table, len(m))
	for k, v := range m {
		if len(k) > 255 {
			return nil, fmt.Errorf("key %.20q... is %d bytes long, the limit is 255", k, len(k))
		}
		w, err := toAMQPValue(v, depth)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = w
	}
	return out, nil
}

// toAMQPValue converts one field value. Types amqp091-go writes natively
// pass through; the others are mapped or refused.
func toAMQPValue(v any, depth int) (any, error) {
	switch v := v.(type) {
	case nil, bool, string, []byte, int8, uint8, int16, uint16, int32, uint32, int64:
		return v, nil
	case float32:
		return finite(float64(v), v)
	case float64:
		return finite(v, v)
	case int:
		// amqp091-go writes int as a 32-bit field, truncating larger values.
		return int64(v), nil
	case uint:
		return fromUint64(uint64(v))
	case uint64:
		return fromUint64(v)
	case time.Time:
		return v, nil
	case Decimal:
		return amqp091.Decimal{Scale: v.Scale, Value: v.Value}, nil
	case amqp091.Decimal:
		return v, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("json.Number %q is not a number", string(v))
		}
		return finite(f, f)
	case route.Table:
		return toAMQPMap(v, depth+1)
	case map[string]any:
		return toAMQPMap(v, depth+1)
	case amqp091.Table:
		return toAMQPMap(v, depth+1)
	case []any:
		return toAMQPArray(len(v), func(i int) any { return v[i] }, depth)
	}
	// Named types (type Kind string) and typed slices ([]string).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fromUint64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return finite(rv.Float(), rv.Float())
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		return toAMQPArray(rv.Len(), func(i int) any { return rv.Index(i).Interface() }, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[it.Key().String()] = it.Value().Interface()
			}
			return toAMQPMap(m, depth+1)
		}
	}
	return nil, fmt.Errorf("value of type %T has no AMQP field type", v)
}

func toAMQPArray(n int, at func(int) any, depth int) ([]any, error) {
	if depth+1 > maxTableDepth {
		return nil, fmt.Errorf("arrays nested deeper than %d levels", maxTableDepth)
	}
	if n > maxTableEntries {
		return nil, fmt.Errorf("array of %d entries, the limit is %d", n, maxTableEntries)
	}
	out := make([]any, n)
	for i := range n {
		w, err := toAMQPValue(at(i), depth+1)
		if err != nil {
			return nil, fmt.Errorf("array index %d: %w", i, err)
		}
		out[i] = w
	}
	return out, nil
}

// finite returns v when f, its value, is finite. RabbitMQ cannot decode a
// NaN or an infinity in a table (Erlang has no such floats): it closes the
// connection with 541 INTERNAL_ERROR.
func finite(f float64, v any) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("float %v: RabbitMQ refuses NaN and infinities", f)
	}
	return v, nil
}

func fromUint64(u uint64) (any, error) {
	if u > math.MaxInt64 {
		return nil, fmt.Errorf("unsigned value %d does not fit AMQP's largest integer (int64)", u)
	}
	return int64(u), nil
}

// fromAMQPTable converts a table read from the wire to a kelp table: nested
// tables become route.Table and decimals [Decimal]; every other value keeps
// the Go type amqp091-go decoded it to. A nil t gives nil.
func fromAMQPTable(t amqp091.Table) route.Table {
	if t == nil {
		return nil
	}
	out := make(route.Table, len(t))
	for k, v := range t {
		out[k] = fromAMQPValue(v)
	}
	return out
}

func fromAMQPValue(v any) any {
	switch v := v.(type) {
	case amqp091.Table:
		return fromAMQPTable(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fromAMQPValue(e)
		}
		return out
	case amqp091.Decimal:
		return Decimal{Scale: v.Scale, Value: v.Value}
	}
	return v
}
