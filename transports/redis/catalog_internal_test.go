package redis

import (
	"regexp"
	"testing"

	"github.com/kelpmq/kelp/route"
)

// TestTopicRegexpMatchesAMQP checks that the regex kelp stores for a topic
// binding matches the routing keys route's AMQP matcher does.
func TestTopicRegexpMatchesAMQP(t *testing.T) {
	patterns := []string{"#", "*", "a", "a.b", "a.*", "*.b", "a.#", "#.b", "a.#.b", "#.a.#", "*.*", "a.*.#",
		"#.*", "*.#", "#.#", "a.#.#.b", "a-b.c+d", "x.(y)", "*.b.*"}
	keys := []string{"", "a", "b", "a.b", "a.b.c", "a.x.b", "x.a.y", "a.b.b", "b.a", "a-b.c+d", "x.(y)", "q.b.z", "a.c"}
	for _, p := range patterns {
		re := regexp.MustCompile(TopicRegexp(p))
		r := route.NewTopicRouter()
		if _, err := r.Bind(p, nil, "q"); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			want := len(r.Route(k, nil, nil)) == 1
			if got := re.MatchString(k); got != want {
				t.Errorf("pattern %q (regex %s) on key %q: %v, AMQP says %v", p, TopicRegexp(p), k, got, want)
			}
		}
	}
}

// TestKombuPatternEvaluatedAsStored checks that a pattern a Python peer
// stored routes as Kombu routes it ("*" spans dots there).
func TestKombuPatternEvaluatedAsStored(t *testing.T) {
	re := compilePattern(`^a\..*?[^\.]$`) // Kombu 5.2's regex for "a.*"
	if re == nil || !re.MatchString("a.b.c") || re.MatchString("b.c") {
		t.Fatalf("Kombu's pattern did not compile or match as Python's re.match does")
	}
}
