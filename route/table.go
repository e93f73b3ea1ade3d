package route

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Table is an AMQP field table: message headers, exchange and queue
// x-arguments, binding arguments. Values are plain Go values (string,
// []byte, bool, the integer and float types, nil for AMQP void, nested
// Table, map[string]any and []any, time.Time, ...); drivers convert them to
// their wire types.
//
// A Table decoded from JSON holds only string, bool, nil, int64 (for every
// number written without a fraction or exponent that fits), float64 (for the
// other numbers), []any and Table, so such tables round-trip exactly.
type Table map[string]any

// Clone returns a deep copy of t: nested Table, map[string]any and []any
// values are copied, and so are []byte values. A nil t gives nil.
func (t Table) Clone() Table { return cloneMap(t) }

func cloneMap[M ~map[string]any](m M) M {
	if m == nil {
		return nil
	}
	c := make(M, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case Table:
		return cloneMap(v)
	case map[string]any:
		return cloneMap(v)
	case []any:
		if v == nil {
			return v
		}
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	case []byte:
		if v == nil {
			return v
		}
		return bytes.Clone(v)
	}
	return v
}

// UnmarshalJSON decodes a JSON object, keeping integers as int64 instead of
// float64 (x-arguments such as x-max-length must reach the broker as
// integers) and nested objects as Table. JSON null gives a nil Table.
func (t *Table) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	if m == nil {
		*t = nil
		return nil
	}
	*t = fromJSONObject(m)
	return nil
}

func fromJSONObject(m map[string]any) Table {
	t := make(Table, len(m))
	for k, v := range m {
		t[k] = fromJSONValue(v)
	}
	return t
}

func fromJSONValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := v.Float64() // valid JSON number; huge values become ±Inf
		return f
	case map[string]any:
		return fromJSONObject(v)
	case []any:
		for i, e := range v {
			v[i] = fromJSONValue(e)
		}
		return v
	}
	return v
}
