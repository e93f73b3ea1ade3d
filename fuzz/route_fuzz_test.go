package fuzz_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/route"
)

// FuzzTopicRouter drives a TopicRouter with bind, unbind and unbind-dest
// operations decoded from the input, then checks every route against a slow
// reference matcher over a model of the bindings. It also checks MatchTopic
// against the same reference.
//
// Input layout, byte by byte: a count of operations, then per operation an
// opcode byte and its operands (a pattern is a length byte and one byte per
// word); whatever is left spells routing keys.
func FuzzTopicRouter(f *testing.F) {
	f.Add([]byte{})
	f.Add(topicSeed([]topicOp{{opBind, "a.#", 0}}, "a", "a.b", "b.a"))
	f.Add(topicSeed([]topicOp{{opBind, "*", 0}, {opBind, "*.#.a.b", 1}, {opBind | opArgs, "*", 0}},
		"a", "a.a.b", "b.a.b.a.b", ""))
	f.Add(topicSeed([]topicOp{{opBind, "#.*", 1}, {opBind, "*.#", 1}, {opUnbind, "#.*", 1}, {opBind, "#", 2}},
		"", "a", "a.b"))
	f.Add(topicSeed([]topicOp{
		{opBind, "a..b", 0}, {opBind, "a.*.b", 1}, {opBind, "#.a.#.a", 2}, {opBind, "", 3},
		{opUnbindDest, "", 1}, {opBind | opArgs, "a..b", 0}, {opUnbind, "a..b", 0},
	}, "a..b", "a.ab.b", "a.b.a.a", ""))
	f.Add(topicSeed([]topicOp{{opBind, "ab.*.#", 0}, {opBind, "#.b", 1}, {opBind, "*.*", 2}}, "ab.#.*", "*.b", "#"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &topicInput{data: data}
		r := route.NewTopicRouter()
		model := map[topicBinding]bool{}

		for range int(in.byte()) % 64 {
			op := in.byte()
			b := topicBinding{
				pattern: in.topic(),
				dest:    fmt.Sprint("q", in.byte()%4),
				args:    int(op/opArgs) % 2,
			}
			switch op % 4 {
			case opBind, 1:
				added, err := r.Bind(b.pattern, b.table(), b.dest)
				if err != nil {
					t.Fatalf("Bind(%q): %v", b.pattern, err)
				}
				if added == model[b] {
					t.Fatalf("Bind(%+v) = %v, but the binding was there: %v", b, added, model[b])
				}
				model[b] = true
			case opUnbind:
				if removed := r.Unbind(b.pattern, b.table(), b.dest); removed != model[b] {
					t.Fatalf("Unbind(%+v) = %v, want %v", b, removed, model[b])
				}
				delete(model, b)
			case opUnbindDest:
				want := 0
				for m := range model {
					if m.dest == b.dest {
						delete(model, m)
						want++
					}
				}
				if got := r.UnbindDest(b.dest); got != want {
					t.Fatalf("UnbindDest(%q) = %d, want %d", b.dest, got, want)
				}
			}
			if r.Len() != len(model) {
				t.Fatalf("Len() = %d, model has %d", r.Len(), len(model))
			}
		}

		keys := []string{"", "a", "a.b", "b.a.a", ".", "a..b", "#", "*.a"}
		for len(in.data) > 0 && len(keys) < 24 {
			keys = append(keys, in.topic())
		}
		for _, key := range keys {
			var want []string
			for m := range model {
				match := topicReference(topicWords(m.pattern), topicWords(key))
				if got := route.MatchTopic(m.pattern, key); got != match {
					t.Fatalf("MatchTopic(%q, %q) = %v, reference says %v", m.pattern, key, got, match)
				}
				if match {
					want = append(want, m.dest)
				}
			}
			slices.Sort(want)
			want = slices.Compact(want)
			got := r.Route(key, nil, nil)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("Route(%q) = %v, want %v; bindings %v", key, got, want, model)
			}
		}
	})
}

// topicBinding is one binding in the reference model.
type topicBinding struct {
	pattern, dest string
	args          int // 0: no arguments; 1: {"v": 1}
}

func (b topicBinding) table() route.Table {
	if b.args == 0 {
		return nil
	}
	return route.Table{"v": 1}
}

// topicInput hands out the fuzz bytes; past the end it gives zeros.
type topicInput struct{ data []byte }

func (in *topicInput) byte() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

// topicAlphabet holds the words of fuzzed patterns and keys: few, so that
// words collide often. Keys use the same words: in a routing key "*" and
// "#" are plain words.
var topicAlphabet = []string{"a", "b", "", "*", "#", "ab"}

// topic reads a pattern or key of up to 5 words.
func (in *topicInput) topic() string {
	ws := make([]string, in.byte()%6)
	for i := range ws {
		ws[i] = topicAlphabet[int(in.byte())%len(topicAlphabet)]
	}
	return strings.Join(ws, ".")
}

// Opcodes of FuzzTopicRouter's input (the low two bits), and the bit that
// gives the binding arguments.
const (
	opBind       = 0 // 1 binds too
	opUnbind     = 2
	opUnbindDest = 3
	opArgs       = 4
)

// topicOp is one operation of a seed; dest is a queue number 0..3.
type topicOp struct {
	code    byte
	pattern string
	dest    byte
}

// topicSeed encodes operations and routing keys in FuzzTopicRouter's input
// layout. Patterns and keys must be spelt with topicAlphabet.
func topicSeed(ops []topicOp, keys ...string) []byte {
	b := []byte{byte(len(ops))}
	for _, op := range ops {
		b = append(b, op.code)
		b = appendTopic(b, op.pattern)
		b = append(b, op.dest)
	}
	for _, k := range keys {
		b = appendTopic(b, k)
	}
	return b
}

func appendTopic(b []byte, s string) []byte {
	ws := topicWords(s)
	b = append(b, byte(len(ws)))
	for _, w := range ws {
		b = append(b, byte(slices.Index(topicAlphabet, w)))
	}
	return b
}

// topicWords splits a topic the way RabbitMQ does: "" has no words; otherwise
// every '.' separates two words, empty ones included.
func topicWords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// topicReference is the obviously correct, exponential definition of AMQP
// topic matching, on word lists.
func topicReference(pattern, key []string) bool {
	if len(pattern) == 0 {
		return len(key) == 0
	}
	switch pattern[0] {
	case "#":
		return topicReference(pattern[1:], key) || (len(key) > 0 && topicReference(pattern, key[1:]))
	case "*":
		return len(key) > 0 && topicReference(pattern[1:], key[1:])
	}
	return len(key) > 0 && key[0] == pattern[0] && topicReference(pattern[1:], key[1:])
}

// The seeds say what they mean: topicSeed's output decodes to its input.
func TestTopicSeedDecodes(t *testing.T) {
	ops := []topicOp{{opBind, "a..b", 0}, {opUnbind | opArgs, "#.*.ab", 3}, {opUnbindDest, "", 2}}
	keys := []string{"", "a.*", "ab.#.b"}
	in := &topicInput{data: topicSeed(ops, keys...)}
	if n := int(in.byte()); n != len(ops) {
		t.Fatalf("decoded %d operations, want %d", n, len(ops))
	}
	for _, want := range ops {
		got := topicOp{code: in.byte(), pattern: in.topic(), dest: in.byte()}
		if got != want {
			t.Errorf("decoded %+v, want %+v", got, want)
		}
	}
	for _, want := range keys {
		if got := in.topic(); got != want {
			t.Errorf("decoded key %q, want %q", got, want)
		}
	}
	if len(in.data) != 0 {
		t.Errorf("%d bytes left over", len(in.data))
	}
}
