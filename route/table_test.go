package route_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/kelpmq/kelp/route"
)

func TestTableCloneIsDeep(t *testing.T) {
	sample := func() route.Table {
		return route.Table{
			"s":      "v",
			"n":      int64(1),
			"table":  route.Table{"a": int64(1)},
			"map":    map[string]any{"b": []any{"x", route.Table{"c": 1}}},
			"list":   []any{int64(1), map[string]any{"d": 2}},
			"bytes":  []byte("abc"),
			"absent": nil,
		}
	}
	orig, want := sample(), sample()
	c := orig.Clone()
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("Clone() = %v, want %v", c, orig)
	}
	// Change every nested thing in the clone; the original must not move.
	c["s"] = "changed"
	c["table"].(route.Table)["a"] = "changed"
	c["map"].(map[string]any)["b"].([]any)[1].(route.Table)["c"] = "changed"
	c["list"].([]any)[1].(map[string]any)["d"] = "changed"
	c["bytes"].([]byte)[0] = 'X'
	if !reflect.DeepEqual(orig, want) {
		t.Errorf("changing the clone changed the original: %v", orig)
	}
	if got := route.Table(nil).Clone(); got != nil {
		t.Errorf("nil.Clone() = %v, want nil", got)
	}
}

func TestTableUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in   string
		want route.Table
	}{
		{`null`, nil},
		{`{}`, route.Table{}},
		{`{"i": 5, "neg": -3, "f": 1.5, "e": 1e3, "big": 9223372036854775808}`, route.Table{
			"i": int64(5), "neg": int64(-3), "f": 1.5, "e": 1000.0, "big": 9223372036854775808.0,
		}},
		{`{"s": "x", "b": true, "n": null}`, route.Table{"s": "x", "b": true, "n": nil}},
		{`{"t": {"u": {"v": 1}}, "l": [1, "a", {"w": 2.5}]}`, route.Table{
			"t": route.Table{"u": route.Table{"v": int64(1)}},
			"l": []any{int64(1), "a", route.Table{"w": 2.5}},
		}},
	}
	for _, tt := range tests {
		var got route.Table
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Unmarshal(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	var bad route.Table
	if err := json.Unmarshal([]byte(`[1]`), &bad); err == nil {
		t.Error("Unmarshal([1]) into Table succeeded")
	}
}
