package route

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// number is a numeric field-table value brought to one representation so
// that values of different Go types compare as AMQP brokers compare them:
// int 1, int64 1, uint8 1 and float64 1.0 are equal.
type number struct {
	isFloat bool    // f holds the value; otherwise i (or u when big)
	isBig   bool    // an unsigned value above math.MaxInt64, held in u
	i       int64   // the value when it is a whole number within int64
	u       uint64  // the value when isBig
	f       float64 // the value when it is not a whole int64
}

// toNumber reports v as a number when it is one of Go's numeric types or a
// json.Number.
func toNumber(v any) (number, bool) {
	switch v := v.(type) {
	case int:
		return number{i: int64(v)}, true
	case int8:
		return number{i: int64(v)}, true
	case int16:
		return number{i: int64(v)}, true
	case int32:
		return number{i: int64(v)}, true
	case int64:
		return number{i: v}, true
	case uint:
		return fromUint(uint64(v)), true
	case uint8:
		return number{i: int64(v)}, true
	case uint16:
		return number{i: int64(v)}, true
	case uint32:
		return number{i: int64(v)}, true
	case uint64:
		return fromUint(v), true
	case float32:
		return fromFloat(float64(v)), true
	case float64:
		return fromFloat(v), true
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return number{i: i}, true
		}
		if f, err := v.Float64(); err == nil {
			return fromFloat(f), true
		}
	}
	return number{}, false
}

func fromUint(u uint64) number {
	if u > math.MaxInt64 {
		return number{isBig: true, u: u}
	}
	return number{i: int64(u)}
}

func fromFloat(f float64) number {
	// -2^63 is exact in float64 and fits; 2^63 does not.
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return number{i: int64(f)}
	}
	return number{isFloat: true, f: f}
}

// int64Value returns n as an int64 when it is a whole number within range.
func (n number) int64Value() (int64, bool) {
	return n.i, !n.isFloat && !n.isBig
}

// stringValue reports v's text when v is a string or a []byte.
func stringValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// valuesEqual compares two field-table values the way RabbitMQ's headers
// exchange does (Erlang ==): numbers by value whatever their Go types, string
// and []byte by content, tables and lists element by element, anything else
// with reflect.DeepEqual.
func valuesEqual(a, b any) bool {
	if na, ok := toNumber(a); ok {
		nb, ok := toNumber(b)
		return ok && na == nb
	}
	if sa, ok := stringValue(a); ok {
		sb, ok := stringValue(b)
		return ok && sa == sb
	}
	if ma, ok := asMap(a); ok {
		mb, ok := asMap(b)
		if !ok || len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok || !valuesEqual(va, vb) {
				return false
			}
		}
		return true
	}
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		return ok && slices.EqualFunc(la, lb, valuesEqual)
	}
	return reflect.DeepEqual(a, b)
}

func asMap(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case Table:
		return v, true
	case map[string]any:
		return v, true
	}
	return nil, false
}

// canonicalTable returns a string that is equal for two tables exactly when
// valuesEqual holds for them: the identity of a binding's arguments. Empty
// and nil tables give "".
func canonicalTable(t map[string]any) string {
	if len(t) == 0 {
		return ""
	}
	var b strings.Builder
	writeCanonical(&b, t)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	if n, ok := toNumber(v); ok {
		switch {
		case n.isFloat:
			b.WriteString("f")
			b.WriteString(strconv.FormatUint(math.Float64bits(n.f), 16))
		case n.isBig:
			b.WriteString("u")
			b.WriteString(strconv.FormatUint(n.u, 10))
		default:
			b.WriteString("i")
			b.WriteString(strconv.FormatInt(n.i, 10))
		}
		b.WriteByte(';')
		return
	}
	if s, ok := stringValue(v); ok {
		writeTagged(b, 's', s)
		return
	}
	if m, ok := asMap(v); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for _, k := range keys {
			writeTagged(b, 's', k)
			writeCanonical(b, m[k])
		}
		b.WriteByte('}')
		return
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("n;")
	case bool:
		if v {
			b.WriteString("t;")
		} else {
			b.WriteString("F;")
		}
	case []any:
		b.WriteByte('[')
		for _, e := range v {
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	default:
		// Other types (time.Time, decimals, typed slices) compare with
		// reflect.DeepEqual, so their Go syntax identifies them.
		writeTagged(b, 'o', fmt.Sprintf("%T:%#v", v, v))
	}
}

// writeTagged writes s after a type tag and its length, so no content can
// forge a boundary or pass for another type.
func writeTagged(b *strings.Builder, tag byte, s string) {
	b.WriteByte(tag)
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}
