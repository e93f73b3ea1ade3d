package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// JSON is the json serializer: application/json, utf-8. It is Kombu's
// default and is registered in [Default] as "json".
//
// Encode uses encoding/json, without HTML escaping. The output is valid
// JSON that Kombu reads, but kelp does not write Kombu's type markers: a
// time.Time is an RFC 3339 string, a []byte a base64 string, as in
// encoding/json.
//
// Decode understands the type markers of Kombu 5.3 and later, objects that
// are exactly {"__type__": T, "__value__": V}:
//
//	datetime, date, time  →  time.Time (see below)
//	decimal               →  string, Python's str(Decimal), e.g. "3.14"
//	uuid                  →  string, canonical form, e.g. "0d3b…-…"
//	bytes                 →  []byte (the value is UTF-8 text)
//	base64                →  []byte (the value is base64)
//
// A datetime without an offset is taken as UTC; a date is midnight UTC; a
// time of day is on January 1 of year 0, as [time.Parse] does. An unknown
// marker type fails with [ErrDecode], as it does in Kombu.
//
// Decoding into an *any (or *map[string]any, *[]any) yields
// map[string]any, []any, string, bool, nil, the marker types above, and
// json.Number for every number. json.Number, not float64, because Python
// peers send arbitrary-precision integers (ids, nanosecond timestamps) that
// float64 would silently round, and because re-encoding a json.Number
// writes exactly the digits that were read.
//
// Decoding into any other type works as [json.Unmarshal] does; markers in
// the body (unless the target is a *json.RawMessage) are first replaced by their plain JSON form (a datetime by its
// RFC 3339 string, bytes by base64, decimal and uuid by strings) so that
// time.Time and []byte fields receive them.
//
// The zero value is ready to use.
type JSON struct{}

// Name returns "json".
func (JSON) Name() string { return "json" }

// ContentType returns "application/json".
func (JSON) ContentType() string { return "application/json" }

// ContentEncoding returns "utf-8".
func (JSON) ContentEncoding() string { return EncodingUTF8 }

// Encode returns the JSON encoding of v. See [JSON].
func (JSON) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, encodeErr("json", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// markerKey is how every Kombu type marker starts.
var markerKey = []byte(`"__type__"`)

// Decode parses data into v. See [JSON].
func (JSON) Decode(data []byte, v any) error {
	switch p := v.(type) {
	case *any:
		x, err := decodeJSONAny(data)
		if err != nil {
			return err
		}
		*p = x
		return nil
	case *map[string]any:
		x, err := decodeJSONAny(data)
		if err != nil {
			return err
		}
		m, ok := x.(map[string]any)
		if !ok && x != nil {
			return fmt.Errorf("%w: json: cannot decode %s into %T", ErrDecode, jsonKind(x), v)
		}
		*p = m
		return nil
	case *[]any:
		x, err := decodeJSONAny(data)
		if err != nil {
			return err
		}
		s, ok := x.([]any)
		if !ok && x != nil {
			return fmt.Errorf("%w: json: cannot decode %s into %T", ErrDecode, jsonKind(x), v)
		}
		*p = s
		return nil
	}
	if _, raw := v.(*json.RawMessage); !raw && bytes.Contains(data, markerKey) {
		x, err := decodeJSONAny(data)
		if err != nil {
			return err
		}
		if data, err = json.Marshal(x); err != nil {
			return decodeErr("json: lowering type markers", err)
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return decodeErr("json", err)
	}
	return nil
}

// decodeJSONAny parses one JSON value with numbers as json.Number and
// Kombu's type markers converted.
func decodeJSONAny(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, decodeErr("json", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: json: data after the top-level value", ErrDecode)
	}
	return convertMarkers(x)
}

// convertMarkers replaces, bottom-up as Python's object_hook does, every
// two-key {"__type__", "__value__"} object in x by the value it stands for.
// Maps and slices are rewritten in place.
func convertMarkers(x any) (any, error) {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			c, err := convertMarkers(v)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		if len(t) == 2 {
			typ, hasType := t["__type__"]
			val, hasValue := t["__value__"]
			if hasType && hasValue {
				return fromMarker(typ, val)
			}
		}
		return t, nil
	case []any:
		for i, v := range t {
			c, err := convertMarkers(v)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return x, nil
}

func jsonKind(x any) string {
	switch x.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("a %T", x)
}
