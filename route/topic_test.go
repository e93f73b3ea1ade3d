package route_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/route"
)

// topicCases are AMQP 0-9-1 topic rules as RabbitMQ applies them.
var topicCases = []struct {
	pattern, key string
	want         bool
}{
	// Literal words.
	{"a", "a", true},
	{"a", "b", false},
	{"a.b", "a.b", true},
	{"a.b", "a", false},
	{"a", "a.b", false},
	{"", "", true},
	{"", "a", false},
	{"a", "", false},
	{"a*b", "a*b", true}, // wildcards are whole words only
	{"a*b", "axb", false},
	{"a#", "a", false},
	// '*' is exactly one word.
	{"*", "a", true},
	{"*", "", false},
	{"*", "a.b", false},
	{"a.*", "a.b", true},
	{"a.*", "a", false},
	{"a.*", "a.b.c", false},
	{"*.b", "a.b", true},
	{"*.*", "a.b", true},
	{"*.*", "a", false},
	// '#' is zero or more words.
	{"#", "", true},
	{"#", "a", true},
	{"#", "a.b.c", true},
	{"a.#", "a", true},
	{"a.#", "a.b", true},
	{"a.#", "a.b.c", true},
	{"a.#", "b.a", false},
	{"a.#", "ab", false},
	{"#.b", "b", true},
	{"#.b", "a.b", true},
	{"#.b", "a.b.c", false},
	{"a.#.b", "a.b", true},
	{"a.#.b", "a.x.y.b", true},
	{"a.#.b", "a.x.y", false},
	{"#.a.#", "a", true},
	{"#.a.#", "x.a.y", true},
	{"#.a.#", "x.y", false},
	{"#.#", "", true},
	{"#.#", "a.b", true},
	{"#.*", "", false},
	{"#.*", "a", true},
	{"#.*", "a.b.c", true},
	{"*.#", "a", true},
	{"*.#", "", false},
	{"*.#.*", "a", false},
	{"*.#.*", "a.b", true},
	{"a.#.#.b", "a.b", true},
	{"#.a.#.b.#", "x.a.y.b.z", true},
	{"#.a.#.b.#", "x.b.y.a.z", false},
	// Empty words are words.
	{"a..b", "a..b", true},
	{"a.*.b", "a..b", true},
	{"a.*", "a.", true},
	{"*.a", ".a", true},
	{"*", ".", false},
	{"*.*", ".", true},
	{"#", ".", true},
	{"a.#", "a.", true},
	{"a..#", "a.", true},
	{"a..#", "a", false},
	{".", ".", true},
	{".", "", false},
	{"a.", "a", false},
}

func TestMatchTopic(t *testing.T) {
	for _, tt := range topicCases {
		if got := route.MatchTopic(tt.pattern, tt.key); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

// The trie agrees with MatchTopic for each case bound alone, and for all of
// them bound at once.
func TestTopicRouterCases(t *testing.T) {
	for _, tt := range topicCases {
		r := route.NewTopicRouter()
		if _, err := r.Bind(tt.pattern, nil, "q"); err != nil {
			t.Fatal(err)
		}
		got := len(r.Route(tt.key, nil, nil)) == 1
		if got != tt.want {
			t.Errorf("pattern %q, key %q: routed %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}

	all := route.NewTopicRouter()
	for i, tt := range topicCases {
		if _, err := all.Bind(tt.pattern, nil, fmt.Sprint("q", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range topicKeys() {
		var want []string
		for i, tt := range topicCases {
			if route.MatchTopic(tt.pattern, key) {
				want = append(want, fmt.Sprint("q", i))
			}
		}
		slices.Sort(want)
		if got := routeSorted(t, all, key, nil); !slices.Equal(got, want) {
			t.Errorf("key %q: Route = %v, want %v", key, got, want)
		}
	}
}

// topicKeys returns every key of topicCases plus a few more.
func topicKeys() []string {
	keys := []string{"x.a.y.b.z", "a.a.a", "..", "a.b.c.d.e.f"}
	for _, tt := range topicCases {
		keys = append(keys, tt.key)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Patterns that are the same after canonicalisation share trie nodes but
// stay distinct bindings.
func TestTopicEquivalentPatterns(t *testing.T) {
	r := route.NewTopicRouter()
	for _, p := range []string{"#.*", "*.#", "#.#.*.#"} {
		if added, _ := r.Bind(p, nil, "q"); !added {
			t.Fatalf("Bind(%q) was not added", p)
		}
	}
	if r.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", r.Len())
	}
	for _, p := range []string{"#.*", "#.#.*.#"} {
		r.Unbind(p, nil, "q")
		if got := r.Route("a.b", nil, nil); !slices.Equal(got, []string{"q"}) {
			t.Fatalf("after Unbind(%q): Route = %v, want [q]", p, got)
		}
	}
	r.Unbind("*.#", nil, "q")
	if got := r.Route("a.b", nil, nil); len(got) != 0 {
		t.Fatalf("after the last Unbind: Route = %v", got)
	}
}

// Several '#' separated by words could make a naive walk exponential; the
// memo keeps this fast (the test would time out otherwise).
func TestTopicManyHashes(t *testing.T) {
	key := strings.Repeat("a.", 120) + "b"
	miss := strings.Repeat("a.", 120) + "c"
	r := route.NewTopicRouter()
	patterns := []string{
		strings.Repeat("#.a.", 12) + "#.b",
		strings.Repeat("#.a.", 12) + "#.c.d",
		"#.a.#.a.#.a.#",
	}
	for _, p := range patterns {
		if _, err := r.Bind(p, nil, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{key, miss} {
		var want []string
		for _, p := range patterns {
			if route.MatchTopic(p, k) {
				want = append(want, p)
			}
		}
		slices.Sort(want)
		if got := routeSorted(t, r, k, nil); !slices.Equal(got, want) {
			t.Errorf("Route(%q...) = %v, want %v", k[:10], got, want)
		}
	}
}
