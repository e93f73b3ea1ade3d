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
	f.Add([]byte{1, 0, 2, 0, 3, 0})                         // bind "a.#" → q0, route the rest
	f.Add([]byte{3, 0, 1, 2, 0, 1, 2, 3, 4, 5, 0, 1, 2})    // bind "*", then "*.#.a.b"
	f.Add([]byte{4, 0, 2, 3, 4, 1, 2, 2, 3, 4, 1, 3, 0, 1}) // bind then unbind "#.*"
	f.Add([]byte{6, 0, 3, 0, 2, 0, 9, 1, 2, 5, 5, 0, 3, 9, 3, 1, 7, 2, 1, 4, 2, 1, 1, 5, 2, 0})
	f.Add([]byte("\x08\x00\x04\x03\x00\x03\x00\x05\x01\x02\x00\x00\x04\x01\x03\x04\x03\x07hello.world"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &input{data: data}
		r := route.NewTopicRouter()
		model := map[modelBinding]bool{}

		for range int(in.byte()) % 64 {
			op := in.byte()
			b := modelBinding{
				pattern: in.topic(),
				dest:    fmt.Sprint("q", in.byte()%4),
				args:    int(op>>2) % 2,
			}
			switch op % 4 {
			case 0, 1:
				added, err := r.Bind(b.pattern, b.table(), b.dest)
				if err != nil {
					t.Fatalf("Bind(%q): %v", b.pattern, err)
				}
				if added == model[b] {
					t.Fatalf("Bind(%+v) = %v, but the binding was there: %v", b, added, model[b])
				}
				model[b] = true
			case 2:
				if removed := r.Unbind(b.pattern, b.table(), b.dest); removed != model[b] {
					t.Fatalf("Unbind(%+v) = %v, want %v", b, removed, model[b])
				}
				delete(model, b)
			case 3:
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
				match := referenceMatch(words(m.pattern), words(key))
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

// modelBinding is one binding in the reference model.
type modelBinding struct {
	pattern, dest string
	args          int // 0: no arguments; 1: {"v": 1}
}

func (b modelBinding) table() route.Table {
	if b.args == 0 {
		return nil
	}
	return route.Table{"v": 1}
}

// input hands out the fuzz bytes; past the end it gives zeros.
type input struct{ data []byte }

func (in *input) byte() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

// topic builds a pattern or a key of up to 5 words from a tiny alphabet,
// so that words collide often. Keys use the same alphabet: in a routing key
// "*" and "#" are plain words.
func (in *input) topic() string {
	alphabet := []string{"a", "b", "", "*", "#", "ab"}
	ws := make([]string, in.byte()%6)
	for i := range ws {
		ws[i] = alphabet[int(in.byte())%len(alphabet)]
	}
	return strings.Join(ws, ".")
}

// words splits a topic the way RabbitMQ does: "" has no words; otherwise
// every '.' separates two words, empty ones included.
func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// referenceMatch is the obviously correct, exponential definition of AMQP
// topic matching, on word lists.
func referenceMatch(pattern, key []string) bool {
	if len(pattern) == 0 {
		return len(key) == 0
	}
	switch pattern[0] {
	case "#":
		return referenceMatch(pattern[1:], key) || (len(key) > 0 && referenceMatch(pattern, key[1:]))
	case "*":
		return len(key) > 0 && referenceMatch(pattern[1:], key[1:])
	}
	return len(key) > 0 && key[0] == pattern[0] && referenceMatch(pattern[1:], key[1:])
}
