package transporttest

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

func TestSameValue(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		want, got any
		same      bool
	}{
		{"nil", nil, nil, true},
		{"nil vs empty string", nil, "", false},
		{"string", "a", "a", true},
		{"string vs bytes", "a", []byte("a"), false},
		{"int64", int64(5), int64(5), true},
		{"int64 vs int32", int64(5), int32(5), false},
		{"int64 vs float64", int64(5), 5.0, false},
		{"big int64 vs rounded float", int64(1) << 62, float64(int64(1) << 62), false},
		{"float64", 2.5, 2.5, true},
		{"float64 differs", 2.5, 2.25, false},
		{"NaN", math.NaN(), math.NaN(), true},
		{"bool", true, true, true},
		{"bool differs", true, false, false},
		{"bytes", []byte{1, 2}, []byte{1, 2}, true},
		{"bytes differ", []byte{1, 2}, []byte{1, 3}, false},
		{"time to the second", when, when.Add(300 * time.Millisecond).In(time.Local), true},
		{"time differs", when, when.Add(time.Second), false},
		{"table as map", route.Table{"a": int64(1)}, map[string]any{"a": int64(1)}, true},
		{"map as table", map[string]any{"a": "x"}, route.Table{"a": "x"}, true},
		{"table missing key", route.Table{"a": int64(1)}, route.Table{}, false},
		{"table extra key", route.Table{}, route.Table{"a": int64(1)}, false},
		{"table vs list", route.Table{}, []any{}, false},
		{"nested table value", route.Table{"t": route.Table{"x": 0.5}}, route.Table{"t": map[string]any{"x": 0.5}}, true},
		{"nested table differs", route.Table{"t": route.Table{"x": 0.5}}, route.Table{"t": route.Table{"x": 0.25}}, false},
		{"list", []any{"a", int64(1), nil}, []any{"a", int64(1), nil}, true},
		{"list length", []any{"a"}, []any{"a", "b"}, false},
		{"list element type", []any{int64(1)}, []any{1.0}, false},
		{"list of tables", []any{route.Table{"k": "v"}}, []any{map[string]any{"k": "v"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameValue(tt.want, tt.got); got != tt.same {
				t.Errorf("sameValue(%s, %s) = %v, want %v", describe(tt.want), describe(tt.got), got, tt.same)
			}
		})
	}
}

func TestSameValueRejectsUnknownTypes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("sameValue accepted a header type the suite has no rule for")
		}
	}()
	sameValue(int32(1), int32(1))
}

func TestBaseHeadersCompareEqualToThemselves(t *testing.T) {
	if d := diffTable("Headers", baseHeaders(), baseHeaders()); len(d) != 0 {
		t.Fatalf("baseHeaders differs from itself: %q", d)
	}
}

func TestDiffTable(t *testing.T) {
	want := route.Table{"a": "x", "b": int64(1), "c": true}
	got := route.Table{"a": "x", "b": 1.0, "d": "extra"}
	d := diffTable("H", want, got)
	wantLines := []string{
		`H["b"]: got float64(1), want int64(1)`,
		`H["c"]: missing, want bool(true)`,
		`H["d"]: unexpected string("extra")`,
	}
	if !slices.Equal(d, wantLines) {
		t.Fatalf("diffTable:\n got %q\nwant %q", d, wantLines)
	}
}

func TestDiffProperties(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := transports.Properties{ContentType: "a", Priority: 3, Timestamp: ts, DeliveryMode: route.Persistent}
	if d := diffProperties(want, want); len(d) != 0 {
		t.Fatalf("equal properties differ: %q", d)
	}
	got := want
	got.Timestamp = ts.Add(999 * time.Millisecond)
	if d := diffProperties(want, got); len(d) != 0 {
		t.Fatalf("timestamps equal to the second differ: %q", d)
	}
	got.Timestamp = time.Time{}
	got.Priority = 4
	got.AppID = "x"
	d := diffProperties(want, got)
	if len(d) != 3 {
		t.Fatalf("diffProperties = %q, want 3 differences", d)
	}
	for _, field := range []string{"Priority", "AppID", "Timestamp"} {
		if !slices.ContainsFunc(d, func(s string) bool { return strings.Contains(s, "Properties."+field) }) {
			t.Errorf("no difference reported for %s in %q", field, d)
		}
	}
}

// TestTopicCasesFollowAMQP checks the suite's hand-written topic table
// against route's matcher, an independent implementation of the same rules.
func TestTopicCasesFollowAMQP(t *testing.T) {
	for _, c := range topicCases {
		for _, key := range topicKeys {
			want := slices.Contains(c.matches, key)
			if got := route.MatchTopic(c.pattern, key); got != want {
				t.Errorf("pattern %q key %q: table says match=%v, route.MatchTopic says %v", c.pattern, key, want, got)
			}
		}
	}
}

func TestCountProblem(t *testing.T) {
	tests := []struct {
		got, want int
		exact     bool
		ok        bool
	}{
		{3, 3, true, true},
		{3, 3, false, true},
		{-1, 3, false, true},
		{-1, 3, true, false},
		{2, 3, false, false},
		{4, 3, true, false},
	}
	for _, tt := range tests {
		if p := countProblem(tt.got, tt.want, tt.exact); (p == "") != tt.ok {
			t.Errorf("countProblem(%d, %d, exact %v) = %q, want ok %v", tt.got, tt.want, tt.exact, p, tt.ok)
		}
	}
}
