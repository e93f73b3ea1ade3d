package transporttest

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// baseHeaders are the header values every transport must hand back as they
// were published (see the package documentation for the rules).
func baseHeaders() route.Table {
	return route.Table{
		"string":       "héllo, wörld",
		"empty-string": "",
		"int64":        int64(-42),
		"int64-big":    int64(1) << 62, // not exact as a float64
		"float64":      3.25,
		"float64-tiny": -1.5e-300,
		"bool-true":    true,
		"bool-false":   false,
		"void":         nil,
		"table": route.Table{
			"inner": "value",
			"n":     int64(7),
			"deep":  route.Table{"x": 0.5},
		},
		"empty-table": route.Table{},
		"list":        []any{"a", int64(1), 2.5, true, nil, route.Table{"k": "v"}, []any{"nested"}},
		"empty-list":  []any{},
		"compression": "application/x-gzip",
	}
}

// sameValue reports whether got is what a transport must hand back for the
// published header value want: the same Go type and value, except that a
// nested table may come back as route.Table or map[string]any, and a
// time.Time only needs to match to the second.
func sameValue(want, got any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		g, ok := got.(string)
		return ok && g == w
	case int64:
		g, ok := got.(int64)
		return ok && g == w
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.IsNaN(g) && math.IsNaN(w))
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Unix() == w.Unix()
	case route.Table, map[string]any:
		wt, _ := asTable(w)
		gt, ok := asTable(got)
		return ok && len(diffTable("", wt, gt)) == 0
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		panic(fmt.Sprintf("transporttest: no comparison rule for header type %T", want))
	}
}

// asTable returns v as a route.Table when it is a table.
func asTable(v any) (route.Table, bool) {
	switch t := v.(type) {
	case route.Table:
		return t, true
	case map[string]any:
		return route.Table(t), true
	}
	return nil, false
}

// diffTable lists, one line per key, how got differs from want under the
// rules of sameValue. Keys are reported in sorted order under prefix.
func diffTable(prefix string, want, got route.Table) []string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s[%q]: missing, want %s", prefix, k, describe(want[k])))
		case !sameValue(want[k], g):
			diffs = append(diffs, fmt.Sprintf("%s[%q]: got %s, want %s", prefix, k, describe(g), describe(want[k])))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s[%q]: unexpected %s", prefix, k, describe(got[k])))
		}
	}
	return diffs
}

// describe formats a value with its Go type.
func describe(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}

// diffProperties lists how got differs from want. Timestamps compare to
// the second (AMQP keeps whole seconds).
func diffProperties(want, got transports.Properties) []string {
	var diffs []string
	check := func(field string, w, g any) {
		if w != g {
			diffs = append(diffs, fmt.Sprintf("Properties.%s: got %#v, want %#v", field, g, w))
		}
	}
	check("ContentType", want.ContentType, got.ContentType)
	check("ContentEncoding", want.ContentEncoding, got.ContentEncoding)
	check("DeliveryMode", want.DeliveryMode, got.DeliveryMode)
	check("Priority", want.Priority, got.Priority)
	check("CorrelationID", want.CorrelationID, got.CorrelationID)
	check("ReplyTo", want.ReplyTo, got.ReplyTo)
	check("Expiration", want.Expiration, got.Expiration)
	check("MessageID", want.MessageID, got.MessageID)
	check("Type", want.Type, got.Type)
	check("UserID", want.UserID, got.UserID)
	check("AppID", want.AppID, got.AppID)
	if want.Timestamp.IsZero() != got.Timestamp.IsZero() || want.Timestamp.Unix() != got.Timestamp.Unix() {
		diffs = append(diffs, fmt.Sprintf("Properties.Timestamp: got %v, want %v (to the second)", got.Timestamp, want.Timestamp))
	}
	return diffs
}
