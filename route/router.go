package route

import (
	"slices"
	"sync"
)

// Router holds the bindings of one exchange and finds the destinations
// (queue names) of a message. Virtual transports (the in-memory broker, Redis,
// SQL) route with it; AMQP brokers route natively.
//
// A binding's identity is (routing key, arguments, destination): binding it
// twice is a no-op, and two bindings that differ only in arguments are two
// bindings. Arguments compare by value ([MatchHeaders]'s equality).
//
// Every implementation in this package is safe for concurrent use: Bind,
// Unbind and UnbindDest may run while Route runs. Route takes a read lock
// only.
type Router interface {
	// Kind returns the exchange kind the router implements.
	Kind() Kind
	// Bind adds a binding and reports whether it is new. It fails only for
	// arguments the kind refuses (a bad x-match on a headers exchange).
	// The router keeps its own copy of args.
	Bind(key string, args Table, dest string) (added bool, err error)
	// Unbind removes a binding and reports whether it was there.
	Unbind(key string, args Table, dest string) (removed bool)
	// UnbindDest removes every binding to dest (its queue was deleted) and
	// returns how many there were.
	UnbindDest(dest string) int
	// Route appends to dst the destinations of a message with this routing
	// key and these headers, each destination once however many of its
	// bindings match, and returns the extended slice. It does not look at
	// what dst held before. The order of the result is unspecified.
	Route(key string, headers Table, dst []string) []string
	// Len returns the number of bindings.
	Len() int
}

// NewRouter returns the router for kind: a [*DirectRouter], [*TopicRouter],
// [*FanoutRouter] or [*HeadersRouter]. An invalid kind fails with an error
// matching [ErrUnknownKind].
func NewRouter(kind Kind) (Router, error) {
	switch kind {
	case Direct:
		return NewDirectRouter(), nil
	case Topic:
		return NewTopicRouter(), nil
	case Fanout:
		return NewFanoutRouter(), nil
	case Headers:
		return NewHeadersRouter(), nil
	}
	return nil, newError([]error{ErrUnknownKind},
		"route: no router for exchange kind %q (want direct, topic, fanout or headers)", kind)
}

// bindingID is the identity of a binding within one router.
type bindingID struct {
	key  string
	args string // canonicalTable of the arguments
	dest string
}

// binding is one stored binding.
type binding struct {
	id   bindingID
	dest int32     // interned destination
	hdr  headerSet // headers routers only: the parsed match
}

// destEntry is an interned destination and its bindings.
type destEntry struct {
	name     string
	bindings []*binding
}

// index is the kind-specific routing structure behind a router.
type index interface {
	insert(b *binding)
	remove(b *binding)
}

// core is what every router shares: the lock, the set of bindings and the
// interned destinations. Route reads it under mu.RLock; everything else
// writes under mu.Lock.
type core struct {
	mu       sync.RWMutex
	bindings map[bindingID]*binding
	ids      map[string]int32
	dests    []destEntry // by id; an entry with no bindings is free
	free     []int32
}

func (c *core) bind(idx index, key string, args Table, dest string, hdr headerSet) bool {
	id := bindingID{key: key, args: canonicalTable(args), dest: dest}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.bindings[id]; ok {
		return false
	}
	if c.bindings == nil {
		c.bindings = make(map[bindingID]*binding)
		c.ids = make(map[string]int32)
	}
	d, ok := c.ids[dest]
	if !ok {
		if n := len(c.free); n > 0 {
			d, c.free = c.free[n-1], c.free[:n-1]
		} else {
			d = int32(len(c.dests))
			c.dests = append(c.dests, destEntry{})
		}
		c.ids[dest] = d
		c.dests[d].name = dest
	}
	b := &binding{id: id, dest: d, hdr: hdr}
	c.bindings[id] = b
	c.dests[d].bindings = append(c.dests[d].bindings, b)
	idx.insert(b)
	return true
}

func (c *core) unbind(idx index, key string, args Table, dest string) bool {
	id := bindingID{key: key, args: canonicalTable(args), dest: dest}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.bindings[id]
	if !ok {
		return false
	}
	idx.remove(b)
	delete(c.bindings, id)
	e := &c.dests[b.dest]
	e.bindings = slices.DeleteFunc(e.bindings, func(x *binding) bool { return x == b })
	if len(e.bindings) == 0 {
		c.release(b.dest)
	}
	return true
}

func (c *core) unbindDest(idx index, dest string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.ids[dest]
	if !ok {
		return 0
	}
	bs := c.dests[d].bindings
	for _, b := range bs {
		idx.remove(b)
		delete(c.bindings, b.id)
	}
	c.release(d)
	return len(bs)
}

// release frees the id of a destination that has no bindings left.
func (c *core) release(d int32) {
	delete(c.ids, c.dests[d].name)
	c.dests[d] = destEntry{}
	c.free = append(c.free, d)
}

func (c *core) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.bindings)
}

// destSet is a small multiset of destination ids: the destinations bound
// with one key (direct) or at one trie node (topic), with the number of
// bindings (argument variants) behind each. Lookups are linear: a key has
// few destinations.
type destSet struct {
	ids  []int32
	refs []int32
}

func (s *destSet) add(d int32) {
	if i := slices.Index(s.ids, d); i >= 0 {
		s.refs[i]++
		return
	}
	s.ids = append(s.ids, d)
	s.refs = append(s.refs, 1)
}

// remove drops one reference to d and reports whether the set is now empty.
func (s *destSet) remove(d int32) (empty bool) {
	i := slices.Index(s.ids, d)
	if i < 0 {
		return len(s.ids) == 0
	}
	if s.refs[i]--; s.refs[i] == 0 {
		last := len(s.ids) - 1
		s.ids[i], s.refs[i] = s.ids[last], s.refs[last]
		s.ids, s.refs = s.ids[:last], s.refs[:last]
	}
	return len(s.ids) == 0
}

// appendNames appends the names of the destinations in s.
func (c *core) appendNames(dst []string, s *destSet) []string {
	for _, d := range s.ids {
		dst = append(dst, c.dests[d].name)
	}
	return dst
}
