package route

import (
	"fmt"
	"slices"
	"testing"
)

func TestCanonicalWords(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"#", "#"}, []string{"#"}},
		{[]string{"#", "*"}, []string{"*", "#"}},
		{[]string{"*", "#", "*", "#", "a", "#"}, []string{"*", "*", "#", "a", "#"}},
		{[]string{"", "#", "#", ""}, []string{"", "#", ""}},
	}
	for _, tt := range tests {
		if got := canonicalWords(slices.Clone(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("canonicalWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a.b", []string{"a", "b"}},
		{".", []string{"", ""}},
		{"a..b.", []string{"a", "", "b", ""}},
	}
	for _, tt := range tests {
		if got := appendWords(nil, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("appendWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Unbinding everything leaves an empty trie and no interned destinations,
// whatever order the bindings go in.
func TestTopicTriePrunes(t *testing.T) {
	r := NewTopicRouter()
	patterns := []string{"a", "a.b", "a.*", "a.#", "#", "#.a.#.b", "*.#", "#.*", "", "a..b", "x.#.y.#.z"}
	for i, p := range patterns {
		for d := range 3 {
			dest := fmt.Sprint("q", (i+d)%5)
			r.Bind(p, nil, dest)
			r.Bind(p, Table{"v": d}, dest)
		}
	}
	assertCounts(t, &r.root)
	r.UnbindDest("q0")
	assertCounts(t, &r.root)
	for i, p := range slices.Backward(patterns) {
		for d := range 3 {
			dest := fmt.Sprint("q", (i+d)%5)
			r.Unbind(p, Table{"v": d}, dest)
			assertCounts(t, &r.root)
			r.Unbind(p, nil, dest)
		}
	}
	if r.Len() != 0 {
		t.Fatalf("Len() = %d, want 0", r.Len())
	}
	if n := r.root; n.words != nil || n.star != nil || n.hash != nil || n.refs != 0 || n.hashesBelow != 0 || len(n.dests.ids) != 0 {
		t.Errorf("root after removing everything: %+v", n)
	}
	if len(r.ids) != 0 || len(r.bindings) != 0 || len(r.free) != len(r.dests) {
		t.Errorf("destinations left: ids %v, %d bindings, %d free of %d", r.ids, len(r.bindings), len(r.free), len(r.dests))
	}
}

// assertCounts checks that every node's refs equals the bindings ending at
// or below it, and hashesBelow those with a '#' edge below it.
func assertCounts(t *testing.T, n *topicNode) (refs, hashes int32) {
	t.Helper()
	for _, r := range n.dests.refs {
		refs += r
	}
	add := func(c *topicNode, isHash bool) {
		if c == nil {
			return
		}
		r, h := assertCounts(t, c)
		if r == 0 {
			t.Errorf("empty node kept: %+v", c)
		}
		refs += r
		if isHash {
			hashes += r
		} else {
			hashes += h
		}
	}
	for _, c := range n.words {
		add(c, false)
	}
	add(n.star, false)
	add(n.hash, true)
	if n.refs != refs || n.hashesBelow != hashes {
		t.Errorf("node counts refs=%d hashesBelow=%d, want %d and %d", n.refs, n.hashesBelow, refs, hashes)
	}
	return refs, hashes
}
