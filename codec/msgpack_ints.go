package codec

import (
	"math"
	"reflect"
	"sync"
)

// Python's msgpack packs every non-negative integer as an unsigned type,
// so vmihailenco's loose interface decoding hands an any field 5 as
// int64 but 300 as uint64. normalizeInts rewrites such values, anywhere an
// interface can appear in a decoded typed target, so typed targets agree
// with decoding into *any: int64 unless the value only fits uint64.

// normAny normalizes one dynamic value, rewriting slices and maps in place.
func normAny(x any) any {
	switch t := x.(type) {
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t)
		}
	case []any:
		for i, e := range t {
			t[i] = normAny(e)
		}
	case map[string]any:
		for k, e := range t {
			t[k] = normAny(e)
		}
	case map[any]any:
		for k, e := range t {
			t[k] = normAny(e)
		}
	}
	return x
}

// normalizeInts walks v, a decoded value, normalizing every interface it
// can set.
func normalizeInts(v reflect.Value) {
	if !mayHoldInterface(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() == reflect.Uint64 && e.Uint() <= math.MaxInt64 && v.NumMethod() == 0 && v.CanSet() {
			v.Set(reflect.ValueOf(int64(e.Uint())))
			return
		}
		normAny(e.Interface()) // containers are rewritten in place
	case reflect.Pointer:
		if !v.IsNil() {
			normalizeInts(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				normalizeInts(f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			normalizeInts(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		if m, ok := v.Interface().(map[string]any); ok {
			normAny(m)
			return
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		for it := v.MapRange(); it.Next(); {
			elem.Set(it.Value())
			normalizeInts(elem)
			v.SetMapIndex(it.Key(), elem)
		}
	}
}

var holdsInterface sync.Map // reflect.Type → bool

// mayHoldInterface reports whether a value of type t can contain an
// interface value.
func mayHoldInterface(t reflect.Type) bool {
	if b, ok := holdsInterface.Load(t); ok {
		return b.(bool)
	}
	b := scanForInterface(t, map[reflect.Type]bool{})
	holdsInterface.Store(t, b)
	return b
}

func scanForInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // recursive type: answered where the cycle started
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return scanForInterface(t.Elem(), seen)
	case reflect.Map:
		return scanForInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && scanForInterface(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
