package route

// FanoutRouter routes every message to every bound destination, ignoring
// routing keys and headers. The zero value is an empty router, ready to use;
// it is safe for concurrent use.
type FanoutRouter struct {
	core
}

var _ Router = (*FanoutRouter)(nil)

// NewFanoutRouter returns an empty fanout router.
func NewFanoutRouter() *FanoutRouter { return &FanoutRouter{} }

// Kind returns [Fanout].
func (r *FanoutRouter) Kind() Kind { return Fanout }

// Bind implements [Router.Bind]; it never fails.
func (r *FanoutRouter) Bind(key string, args Table, dest string) (bool, error) {
	return r.bind(r, key, args, dest, headerSet{}), nil
}

// Unbind implements [Router.Unbind].
func (r *FanoutRouter) Unbind(key string, args Table, dest string) bool {
	return r.unbind(r, key, args, dest)
}

// UnbindDest implements [Router.UnbindDest].
func (r *FanoutRouter) UnbindDest(dest string) int { return r.unbindDest(r, dest) }

// Len implements [Router.Len].
func (r *FanoutRouter) Len() int { return r.len() }

// Route appends every bound destination; key and headers are ignored.
func (r *FanoutRouter) Route(_ string, _ Table, dst []string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := range r.dests {
		if e := &r.dests[i]; len(e.bindings) > 0 {
			dst = append(dst, e.name)
		}
	}
	return dst
}

// The interned destinations are the whole index of a fanout exchange.
func (r *FanoutRouter) insert(*binding) {}
func (r *FanoutRouter) remove(*binding) {}
