package pidbox

import (
	"sync"
	"testing"
)

func TestMatchers(t *testing.T) {
	tests := []struct {
		pattern, matcher, host string
		want                   bool
	}{
		{"w*", "glob", "worker1@host", true},
		{"w*", "glob", "Worker1", false}, // case-sensitive, as fnmatch on POSIX
		{"*@host", "glob", "a@host", true},
		{"*@host", "glob", "a@host2", false},
		{"w?", "glob", "w1", true},
		{"w?", "glob", "w12", false},
		{"w[0-9]", "glob", "w5", true},
		{"w[!0-9]", "glob", "w5", false},
		{"w[!0-9]", "glob", "wx", true},
		{"w[", "glob", "w[", true}, // an unclosed set is literal
		{"a.b", "glob", "axb", false},
		{"ü*", "glob", "über", true},
		{"w", "pcre", "worker", true}, // re.match: anchored at the start only
		{"orker", "pcre", "worker", false},
		{"w(1|2)$", "pcre", "w2", true},
		{"w(1|2)$", "pcre", "w3", false},
	}
	for _, tc := range tests {
		re, err := compileMatcher(tc.pattern, tc.matcher)
		if err != nil {
			t.Fatalf("%s %q: %v", tc.matcher, tc.pattern, err)
		}
		if got := re.MatchString(tc.host); got != tc.want {
			t.Errorf("%s %q vs %q: %v, want %v", tc.matcher, tc.pattern, tc.host, got, tc.want)
		}
	}
	if _, err := compileMatcher("x", "regex"); err == nil {
		t.Error("unknown matcher accepted")
	}
}

func TestClock(t *testing.T) {
	var c Clock
	if c.Forward() != 1 || c.Adjust(10) != 11 || c.Adjust(3) != 12 || c.Value() != 12 {
		t.Fatalf("clock %d", c.Value())
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			c.Forward()
			c.Adjust(uint64(i))
		})
	}
	wg.Wait()
	if c.Value() < 12+200 {
		t.Fatalf("concurrent clock %d, want at least %d", c.Value(), 212)
	}
}

func TestParseRequestSelects(t *testing.T) {
	tests := []struct {
		body map[string]any
		want bool
	}{
		{map[string]any{"method": "m", "destination": []any{"me", "other"}}, true},
		{map[string]any{"method": "m", "destination": []any{"other"}}, false},
		{map[string]any{"method": "m", "destination": []any{}, "pattern": "m*", "matcher": "glob"}, true},
		{map[string]any{"method": "m", "pattern": "x*", "matcher": "glob"}, false},
		{map[string]any{"method": "m", "pattern": "x*"}, true}, // no matcher: Kombu runs it everywhere
		{map[string]any{"method": "m"}, true},
	}
	n := &Node{hostname: "me"}
	for _, tc := range tests {
		req, err := parseRequest(tc.body, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := n.selected(req); got != tc.want || err != nil {
			t.Errorf("%v: selected %v %v, want %v", tc.body, got, err, tc.want)
		}
	}
	if _, err := parseRequest(map[string]any{"arguments": map[string]any{}}, nil); err == nil {
		t.Error("request without method accepted")
	}
}
