package route_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/kelpmq/kelp/route"
)

func TestMatchHeaders(t *testing.T) {
	tests := []struct {
		name    string
		args    route.Table
		headers route.Table
		want    bool
	}{
		{"all by default", route.Table{"a": "1", "b": "2"}, route.Table{"a": "1", "b": "2", "c": "3"}, true},
		{"all misses one", route.Table{"a": "1", "b": "2"}, route.Table{"a": "1"}, false},
		{"all wrong value", route.Table{"x-match": "all", "a": "1"}, route.Table{"a": "2"}, false},
		{"all no headers", route.Table{"a": "1"}, nil, false},
		{"all nothing to match", route.Table{"x-match": "all"}, nil, true},
		{"empty args", nil, route.Table{"a": 1}, true},
		{"any one", route.Table{"x-match": "any", "a": "1", "b": "2"}, route.Table{"b": "2"}, true},
		{"any none", route.Table{"x-match": "any", "a": "1", "b": "2"}, route.Table{"a": "2", "c": "1"}, false},
		{"any nothing to match", route.Table{"x-match": "any"}, route.Table{"a": "1"}, false},
		{"x- ignored by all", route.Table{"a": 1, "x-tag": "t"}, route.Table{"a": 1}, true},
		{"only x- args with all", route.Table{"x-tag": "t"}, route.Table{}, true},
		{"only x- args with any", route.Table{"x-match": "any", "x-tag": "t"}, route.Table{"x-tag": "t"}, false},
		{"all-with-x compares x-", route.Table{"x-match": "all-with-x", "a": 1, "x-tag": "t"}, route.Table{"a": 1}, false},
		{"all-with-x matches x-", route.Table{"x-match": "all-with-x", "x-tag": "t"}, route.Table{"x-tag": "t"}, true},
		{"any-with-x matches x-", route.Table{"x-match": "any-with-x", "a": 1, "x-tag": "t"}, route.Table{"x-tag": "t"}, true},
		{"x-match never compared", route.Table{"x-match": "all-with-x", "a": 1}, route.Table{"a": 1}, true},
		{"void means presence", route.Table{"a": nil}, route.Table{"a": "anything"}, true},
		{"void with void header", route.Table{"a": nil}, route.Table{"a": nil}, true},
		{"void needs the key", route.Table{"a": nil}, route.Table{"b": 1}, false},
		{"void counts for any", route.Table{"x-match": "any", "a": nil, "b": 1}, route.Table{"a": 0}, true},
		{"value against void header", route.Table{"a": 1}, route.Table{"a": nil}, false},
		{"int vs int64", route.Table{"n": 1}, route.Table{"n": int64(1)}, true},
		{"int8 vs uint32", route.Table{"n": int8(7)}, route.Table{"n": uint32(7)}, true},
		{"int vs float64", route.Table{"n": 3}, route.Table{"n": 3.0}, true},
		{"float32 vs float64", route.Table{"n": float32(0.5)}, route.Table{"n": 0.5}, true},
		{"int vs fraction", route.Table{"n": 3}, route.Table{"n": 3.5}, false},
		{"json.Number", route.Table{"n": json.Number("42")}, route.Table{"n": 42}, true},
		{"big uint64", route.Table{"n": uint64(math.MaxUint64)}, route.Table{"n": uint64(math.MaxUint64)}, true},
		{"big uint64 vs int64", route.Table{"n": uint64(math.MaxUint64)}, route.Table{"n": int64(-1)}, false},
		{"string vs bytes", route.Table{"s": "abc"}, route.Table{"s": []byte("abc")}, true},
		{"bytes vs string differ", route.Table{"s": []byte("abc")}, route.Table{"s": "abd"}, false},
		{"string vs number", route.Table{"s": "1"}, route.Table{"s": 1}, false},
		{"bool", route.Table{"b": true}, route.Table{"b": true}, true},
		{"bool vs int", route.Table{"b": true}, route.Table{"b": 1}, false},
		{"nested tables", route.Table{"t": route.Table{"a": 1, "l": []any{"x", 2}}},
			route.Table{"t": map[string]any{"a": int64(1), "l": []any{[]byte("x"), 2.0}}}, true},
		{"nested tables differ", route.Table{"t": route.Table{"a": 1}}, route.Table{"t": route.Table{"a": 1, "b": 2}}, false},
		{"lists differ in length", route.Table{"l": []any{1}}, route.Table{"l": []any{1, 1}}, false},
		{"bytes match-mode", route.Table{"x-match": []byte("any"), "a": 1, "b": 2}, route.Table{"b": 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := route.MatchHeaders(tt.args, tt.headers)
			if err != nil || got != tt.want {
				t.Errorf("MatchHeaders(%v, %v) = %v, %v; want %v", tt.args, tt.headers, got, err, tt.want)
			}
		})
	}
}

func TestMatchHeadersBadMatch(t *testing.T) {
	for _, args := range []route.Table{
		{"x-match": "most"},
		{"x-match": "ALL"},
		{"x-match": 1},
		{"x-match": nil},
	} {
		if _, err := route.MatchHeaders(args, nil); !errors.Is(err, route.ErrInvalidMatch) {
			t.Errorf("MatchHeaders(%v) error = %v, want ErrInvalidMatch", args, err)
		}
		r := route.NewHeadersRouter()
		if added, err := r.Bind("", args, "q"); added || !errors.Is(err, route.ErrInvalidMatch) {
			t.Errorf("Bind(%v) = %v, %v; want ErrInvalidMatch", args, added, err)
		}
		if r.Len() != 0 {
			t.Errorf("a refused binding was kept")
		}
	}
}

func TestHeadersRouter(t *testing.T) {
	r := route.NewHeadersRouter()
	binds := []struct {
		args route.Table
		dest string
	}{
		{route.Table{"format": "pdf", "type": "report"}, "pdf-reports"},
		{route.Table{"x-match": "any", "format": "pdf", "format2": "pdf"}, "pdfs"},
		{route.Table{"x-match": "any", "type": "log"}, "logs-or-pdfs"},
		{route.Table{"format": "pdf"}, "logs-or-pdfs"},
		{route.Table{}, "everything"},
		{route.Table{"x-match": "any-with-x", "x-tenant": "acme"}, "acme"},
	}
	for _, b := range binds {
		if _, err := r.Bind("ignored", b.args, b.dest); err != nil {
			t.Fatal(err)
		}
	}
	// The routing key takes no part in matching.
	tests := []struct {
		headers route.Table
		want    []string
	}{
		{route.Table{"format": "pdf", "type": "report"}, []string{"everything", "logs-or-pdfs", "pdf-reports", "pdfs"}},
		{route.Table{"type": "log"}, []string{"everything", "logs-or-pdfs"}},
		{route.Table{"x-tenant": []byte("acme")}, []string{"acme", "everything"}},
		{nil, []string{"everything"}},
	}
	for _, tt := range tests {
		if got := routeSorted(t, r, "other key", tt.headers); !slices.Equal(got, tt.want) {
			t.Errorf("Route(%v) = %v, want %v", tt.headers, got, tt.want)
		}
	}
	// The router keeps its own copy of the arguments.
	args := route.Table{"k": "v"}
	if _, err := r.Bind("", args, "copied"); err != nil {
		t.Fatal(err)
	}
	args["k"] = "changed"
	if got := routeSorted(t, r, "", route.Table{"k": "v"}); !slices.Contains(got, "copied") {
		t.Errorf("changing the caller's table changed the binding: %v", got)
	}
}
