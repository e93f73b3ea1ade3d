package route

// DirectRouter routes a message to the destinations bound with exactly its
// routing key (one map lookup). The zero value is an empty router, ready to
// use; it is safe for concurrent use.
type DirectRouter struct {
	core
	keys map[string]*destSet
}

var _ Router = (*DirectRouter)(nil)

// NewDirectRouter returns an empty direct router.
func NewDirectRouter() *DirectRouter { return &DirectRouter{} }

// Kind returns [Direct].
func (r *DirectRouter) Kind() Kind { return Direct }

// Bind implements [Router.Bind]; it never fails.
func (r *DirectRouter) Bind(key string, args Table, dest string) (bool, error) {
	return r.bind(r, key, args, dest, headerSet{}), nil
}

// Unbind implements [Router.Unbind].
func (r *DirectRouter) Unbind(key string, args Table, dest string) bool {
	return r.unbind(r, key, args, dest)
}

// UnbindDest implements [Router.UnbindDest].
func (r *DirectRouter) UnbindDest(dest string) int { return r.unbindDest(r, dest) }

// Len implements [Router.Len].
func (r *DirectRouter) Len() int { return r.len() }

// Route appends the destinations bound with key; headers are ignored.
func (r *DirectRouter) Route(key string, _ Table, dst []string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if s := r.keys[key]; s != nil {
		dst = r.appendNames(dst, s)
	}
	return dst
}

func (r *DirectRouter) insert(b *binding) {
	s := r.keys[b.id.key]
	if s == nil {
		if r.keys == nil {
			r.keys = make(map[string]*destSet)
		}
		s = new(destSet)
		r.keys[b.id.key] = s
	}
	s.add(b.dest)
}

func (r *DirectRouter) remove(b *binding) {
	if s := r.keys[b.id.key]; s != nil && s.remove(b.dest) {
		delete(r.keys, b.id.key)
	}
}
