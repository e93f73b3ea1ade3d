package route

import (
	"strings"
	"sync"
)

// MatchTopic reports whether a routing key matches a topic binding pattern
// under AMQP 0-9-1 rules (as RabbitMQ implements them):
//
//   - Pattern and key are split into words on '.'; the empty string has no
//     words, and empty words count ("a..b" is three words).
//   - "*" matches exactly one word, "#" zero or more words, any other word
//     itself only.
//
// So "a.#" matches "a", "#" matches "" and every key, and "a.*" does not
// match "a.b.c". (Kombu's own virtual transports differ: there "*" can span
// dots.) MatchTopic does not allocate and runs in O(len(pattern)·len(key))
// time at worst.
func MatchTopic(pattern, key string) bool {
	if !strings.ContainsAny(pattern, "*#") {
		return pattern == key
	}
	p, k := firstWord(pattern), firstWord(key)
	// resumeP is where the pattern goes on after the last '#' seen, and
	// resumeK the first key word that '#' has not taken yet; -1: no '#' yet.
	resumeP, resumeK := -1, -1
	for k <= len(key) {
		if p <= len(pattern) {
			pw, pNext := nextWord(pattern, p)
			if pw == "#" {
				resumeP, resumeK, p = pNext, k, pNext
				continue
			}
			kw, kNext := nextWord(key, k)
			if pw == "*" || pw == kw {
				p, k = pNext, kNext
				continue
			}
		}
		if resumeP < 0 {
			return false
		}
		// Backtrack: let the last '#' take one more word.
		_, resumeK = nextWord(key, resumeK)
		p, k = resumeP, resumeK
	}
	for p <= len(pattern) {
		pw, pNext := nextWord(pattern, p)
		if pw != "#" {
			return false
		}
		p = pNext
	}
	return true
}

// Words of a topic string are read with a cursor: the byte offset where the
// next word starts, or len(s)+1 when no word is left.

// firstWord returns the cursor of s's first word (none for "").
func firstWord(s string) int {
	if s == "" {
		return 1
	}
	return 0
}

// nextWord returns the word at cursor i and the cursor after it.
func nextWord(s string, i int) (word string, next int) {
	if j := strings.IndexByte(s[i:], '.'); j >= 0 {
		return s[i : i+j], i + j + 1
	}
	return s[i:], len(s) + 1
}

// appendWords appends the words of s to dst.
func appendWords(dst []string, s string) []string {
	for i := firstWord(s); i <= len(s); {
		var w string
		w, i = nextWord(s, i)
		dst = append(dst, w)
	}
	return dst
}

// canonicalWords rewrites every run of wildcards to its stars followed by at
// most one '#' ("#.*.#" becomes "*.#"): the same matches, fewer trie paths,
// and no two '#' in a row for the walk to explore twice.
func canonicalWords(words []string) []string {
	out := words[:0]
	hash := false
	for _, w := range words {
		switch w {
		case "#":
			hash = true
		case "*":
			out = append(out, w)
		default:
			if hash {
				out = append(out, "#")
				hash = false
			}
			out = append(out, w)
		}
	}
	if hash {
		out = append(out, "#")
	}
	return out
}

// TopicRouter routes by topic patterns ([MatchTopic]). The bindings form a
// trie of words, so one walk over the routing key's words finds every
// matching destination, however many patterns there are; a routing call
// allocates nothing but dst's growth. The zero value is an empty router,
// ready to use; it is safe for concurrent use.
type TopicRouter struct {
	core
	root  topicNode
	walks sync.Pool // of *topicWalk
}

var _ Router = (*TopicRouter)(nil)

// topicNode is a trie node; the path from the root spells a canonical
// pattern's words.
type topicNode struct {
	words map[string]*topicNode // literal next words
	star  *topicNode            // next word "*"
	hash  *topicNode            // next word "#"
	dests destSet               // patterns that end here
	// refs counts the bindings whose path reaches this node; the node goes
	// when it drops to zero.
	refs int32
	// hashesBelow counts those bindings that have a '#' deeper than this
	// node: a walk only needs its memo when entering a '#' node that has.
	hashesBelow int32
}

// NewTopicRouter returns an empty topic router.
func NewTopicRouter() *TopicRouter { return &TopicRouter{} }

// Kind returns [Topic].
func (r *TopicRouter) Kind() Kind { return Topic }

// Bind implements [Router.Bind]; it never fails. key is a pattern.
func (r *TopicRouter) Bind(key string, args Table, dest string) (bool, error) {
	return r.bind(r, key, args, dest, headerSet{}), nil
}

// Unbind implements [Router.Unbind].
func (r *TopicRouter) Unbind(key string, args Table, dest string) bool {
	return r.unbind(r, key, args, dest)
}

// UnbindDest implements [Router.UnbindDest].
func (r *TopicRouter) UnbindDest(dest string) int { return r.unbindDest(r, dest) }

// Len implements [Router.Len].
func (r *TopicRouter) Len() int { return r.len() }

// Route appends the destinations whose patterns match key; headers are
// ignored.
func (r *TopicRouter) Route(key string, _ Table, dst []string) []string {
	w, _ := r.walks.Get().(*topicWalk)
	if w == nil {
		w = new(topicWalk)
	}
	w.words = appendWords(w.words[:0], key)
	w.dst = dst

	r.mu.RLock()
	w.start(r.dests)
	w.walk(&r.root, 0)
	r.mu.RUnlock()

	dst = w.dst
	w.dst, w.dests = nil, nil
	r.walks.Put(w)
	return dst
}

// lastHash returns the index of the last '#' in words, or -1.
func lastHash(words []string) int {
	for i := len(words) - 1; i >= 0; i-- {
		if words[i] == "#" {
			return i
		}
	}
	return -1
}

func (r *TopicRouter) insert(b *binding) {
	words := canonicalWords(appendWords(nil, b.id.key))
	last := lastHash(words)
	n := &r.root
	for i, w := range words {
		n.refs++
		if last >= i {
			n.hashesBelow++
		}
		n = n.child(w, true)
	}
	n.refs++
	n.dests.add(b.dest)
}

func (r *TopicRouter) remove(b *binding) {
	words := canonicalWords(appendWords(nil, b.id.key))
	last := lastHash(words)
	n := &r.root
	for i, w := range words {
		n.refs--
		if last >= i {
			n.hashesBelow--
		}
		c := n.child(w, false)
		if c.refs == 1 {
			// This binding is the last one below: drop the whole branch.
			n.drop(w)
			return
		}
		n = c
	}
	n.refs--
	n.dests.remove(b.dest)
}

// child returns the child of n for word w, creating it when create is set.
func (n *topicNode) child(w string, create bool) *topicNode {
	var p **topicNode
	switch w {
	case "*":
		p = &n.star
	case "#":
		p = &n.hash
	default:
		c := n.words[w]
		if c == nil && create {
			if n.words == nil {
				n.words = make(map[string]*topicNode)
			}
			c = new(topicNode)
			n.words[w] = c
		}
		return c
	}
	if *p == nil && create {
		*p = new(topicNode)
	}
	return *p
}

// drop removes the child of n for word w.
func (n *topicNode) drop(w string) {
	switch w {
	case "*":
		n.star = nil
	case "#":
		n.hash = nil
	default:
		delete(n.words, w)
		if len(n.words) == 0 {
			n.words = nil
		}
	}
}

// topicWalk is the scratch state of one Route call, pooled so that routing
// does not allocate: the key's words, a generation-stamped "seen" mark per
// destination (to append each once), and the memo for patterns with several
// '#'.
type topicWalk struct {
	words []string
	dst   []string
	dests []destEntry // the router's interned destinations
	seen  []uint32    // by destination id: gen when appended this walk
	gen   uint32
	// low maps a '#' node, entered at several key positions, to the lowest
	// position it was entered at: entering at j covers every position >= j,
	// so a later entry only needs the positions below. (The loops run
	// upwards, so later entries are in fact never lower; the bound keeps
	// the walk right whatever the order.) Used only for '#' nodes with more
	// '#' below, whose walks could otherwise multiply.
	low     map[*topicNode]int
	lowUsed bool
}

// start prepares w for a walk over dests (under the router's read lock).
func (w *topicWalk) start(dests []destEntry) {
	w.dests = dests
	if len(w.seen) < len(dests) {
		w.seen = make([]uint32, len(dests)+len(dests)/4)
		w.gen = 0
	}
	if w.gen++; w.gen == 0 {
		clear(w.seen)
		w.gen = 1
	}
	if w.lowUsed {
		clear(w.low)
		w.lowUsed = false
	}
}

// walk visits node n with the key's words from i on matched so far.
func (w *topicWalk) walk(n *topicNode, i int) {
	if i == len(w.words) {
		w.collect(n)
		if n.hash != nil {
			w.walkHash(n.hash, i)
		}
		return
	}
	if c := n.words[w.words[i]]; c != nil {
		w.walk(c, i+1)
	}
	if n.star != nil {
		w.walk(n.star, i+1)
	}
	if n.hash != nil {
		w.walkHash(n.hash, i)
	}
}

// walkHash visits '#' node h, letting it take the words from i to j for
// every j.
func (w *topicWalk) walkHash(h *topicNode, i int) {
	if h.words == nil && h.star == nil && h.hash == nil {
		// A trailing '#' takes all the remaining words.
		w.collect(h)
		return
	}
	end := len(w.words)
	if h.hashesBelow > 0 {
		if w.low == nil {
			w.low = make(map[*topicNode]int)
		}
		w.lowUsed = true
		if lo, ok := w.low[h]; ok {
			if i >= lo {
				return
			}
			end = lo - 1
		}
		w.low[h] = i
	}
	for j := i; j <= end; j++ {
		w.walk(h, j)
	}
}

// collect appends the destinations ending at n that are not appended yet.
func (w *topicWalk) collect(n *topicNode) {
	for _, d := range n.dests.ids {
		if w.seen[d] != w.gen {
			w.seen[d] = w.gen
			w.dst = append(w.dst, w.dests[d].name)
		}
	}
}
