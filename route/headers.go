package route

// MatchMode is a headers binding's x-match argument: how the binding's
// arguments are compared with a message's headers.
type MatchMode string

// The x-match values RabbitMQ accepts.
const (
	// MatchAll (the default) needs every argument to match.
	MatchAll MatchMode = "all"
	// MatchAny needs one argument to match.
	MatchAny MatchMode = "any"
	// MatchAllWithX is MatchAll that also compares x- arguments.
	MatchAllWithX MatchMode = "all-with-x"
	// MatchAnyWithX is MatchAny that also compares x- arguments.
	MatchAnyWithX MatchMode = "any-with-x"
)

// matchModeOf reads x-match from binding arguments: absent means MatchAll;
// a value that is not one of the four strings fails with ErrInvalidMatch.
func matchModeOf(args Table) (MatchMode, error) {
	v, ok := args[ArgMatch]
	if !ok {
		return MatchAll, nil
	}
	s, ok := stringValue(v)
	if !ok {
		return "", newError([]error{ErrInvalidMatch},
			"route: x-match must be a string, got %T %#v", v, v)
	}
	switch m := MatchMode(s); m {
	case MatchAll, MatchAny, MatchAllWithX, MatchAnyWithX:
		return m, nil
	}
	return "", newError([]error{ErrInvalidMatch},
		"route: invalid x-match %q (want all, any, all-with-x or any-with-x)", s)
}

// headerSet is a headers binding compiled for matching.
type headerSet struct {
	any   bool
	conds []headerCond
}

// headerCond is one argument to compare: the header key must be present
// and, unless presence is all that is asked (a nil argument, AMQP void),
// equal to value.
type headerCond struct {
	key      string
	value    any
	presence bool
}

// compileHeaders validates args and keeps what matching needs: x-match is
// never compared, other x- keys only in the -with-x modes (RabbitMQ's rules).
func compileHeaders(args Table) (headerSet, error) {
	mode, err := matchModeOf(args)
	if err != nil {
		return headerSet{}, err
	}
	withX := mode == MatchAllWithX || mode == MatchAnyWithX
	h := headerSet{any: mode == MatchAny || mode == MatchAnyWithX}
	for k, v := range args {
		if k == ArgMatch || (!withX && len(k) >= 2 && k[:2] == "x-") {
			continue
		}
		h.conds = append(h.conds, headerCond{key: k, value: cloneValue(v), presence: v == nil})
	}
	return h, nil
}

func (h *headerSet) match(headers Table) bool {
	for _, c := range h.conds {
		v, ok := headers[c.key]
		ok = ok && (c.presence || valuesEqual(c.value, v))
		if ok == h.any {
			// The first match decides "any"; the first miss decides "all".
			return ok
		}
	}
	// "all" with no miss (even with no conditions) matches; "any" with no
	// match does not.
	return !h.any
}

// MatchHeaders reports whether a message with these headers matches a
// headers binding with these arguments, as RabbitMQ decides:
//
//   - x-match is "all" (the default), "any", "all-with-x" or "any-with-x";
//     anything else, or a value that is not a string, is an error matching
//     [ErrInvalidMatch].
//   - Arguments whose key starts with "x-" are ignored unless the mode ends
//     in "-with-x"; x-match itself is never compared.
//   - A nil argument (AMQP void) matches any value of that header, as long
//     as the header is present.
//   - Values compare by value across Go types: integers of any type and
//     floats with the same value are equal, as are a string and a []byte
//     with the same bytes; tables and lists compare element-wise.
//   - "all" with no arguments left matches every message; "any" with none
//     matches nothing.
func MatchHeaders(args, headers Table) (bool, error) {
	h, err := compileHeaders(args)
	if err != nil {
		return false, err
	}
	return h.match(headers), nil
}

// HeadersRouter routes by message headers ([MatchHeaders]); routing keys
// are part of a binding's identity but take no part in matching. Route tests
// the bindings of each destination in turn. The zero value is an empty
// router, ready to use; it is safe for concurrent use.
type HeadersRouter struct {
	core
}

var _ Router = (*HeadersRouter)(nil)

// NewHeadersRouter returns an empty headers router.
func NewHeadersRouter() *HeadersRouter { return &HeadersRouter{} }

// Kind returns [Headers].
func (r *HeadersRouter) Kind() Kind { return Headers }

// Bind implements [Router.Bind]. It fails, matching [ErrInvalidMatch], when
// args has a bad x-match.
func (r *HeadersRouter) Bind(key string, args Table, dest string) (bool, error) {
	h, err := compileHeaders(args)
	if err != nil {
		return false, err
	}
	return r.bind(r, key, args, dest, h), nil
}

// Unbind implements [Router.Unbind].
func (r *HeadersRouter) Unbind(key string, args Table, dest string) bool {
	return r.unbind(r, key, args, dest)
}

// UnbindDest implements [Router.UnbindDest].
func (r *HeadersRouter) UnbindDest(dest string) int { return r.unbindDest(r, dest) }

// Len implements [Router.Len].
func (r *HeadersRouter) Len() int { return r.len() }

// Route appends every destination with a binding that matches headers; the
// routing key is ignored.
func (r *HeadersRouter) Route(_ string, headers Table, dst []string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := range r.dests {
		e := &r.dests[i]
		for _, b := range e.bindings {
			if b.hdr.match(headers) {
				dst = append(dst, e.name)
				break
			}
		}
	}
	return dst
}

// The interned destinations and their bindings are the whole index.
func (r *HeadersRouter) insert(*binding) {}
func (r *HeadersRouter) remove(*binding) {}
