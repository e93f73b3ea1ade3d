package codec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry maps serializer names, aliases and content types to
// [Serializer]s, and compressor names, aliases and `compression` header
// values to [Compressor]s. Lookups are case-insensitive.
//
// A Registry is safe for concurrent use. Lookups never block: they read an
// immutable snapshot that each registration replaces. The zero value is an
// empty registry ready to use, as is [NewRegistry]'s result; it must not be
// copied after first use.
type Registry struct {
	mu  sync.Mutex // serializes writers; readers only load cur
	cur atomic.Pointer[tables]
}

// tables is one immutable snapshot of a Registry.
type tables struct {
	serializers map[string]Serializer // by name, alias and content type
	compressors map[string]Compressor // by name, alias and content type
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{} }

// empty is the snapshot of a Registry nothing was registered in.
var empty = &tables{serializers: map[string]Serializer{}, compressors: map[string]Compressor{}}

// Clone returns a new Registry holding the same codecs as r. Registering in
// the clone does not affect r; use it to extend [Default] privately:
//
//	r := codec.Default.Clone()
//	err := r.RegisterSerializer(mySerializer{})
func (r *Registry) Clone() *Registry {
	t := r.load()
	c := &Registry{}
	c.cur.Store(&tables{serializers: maps.Clone(t.serializers), compressors: maps.Clone(t.compressors)})
	return c
}

func (r *Registry) load() *tables {
	if t := r.cur.Load(); t != nil {
		return t
	}
	return empty
}

// RegisterSerializer registers s under its name, its content type and the
// given aliases. As in Kombu, a serializer registered under a name or
// content type that is already taken replaces the old one, all of whose
// keys are then dropped. It returns an error wrapping [ErrInvalidCodec] if s
// is nil, its name is empty or contains a slash, its content type has no
// slash, or an alias is empty or contains a slash.
func (r *Registry) RegisterSerializer(s Serializer, aliases ...string) error {
	if s == nil {
		return fmt.Errorf("%w: nil serializer", ErrInvalidCodec)
	}
	keys, err := codecKeys(s.Name(), s.ContentType(), aliases)
	if err != nil {
		return err
	}
	r.update(func(t tables) tables {
		t.serializers = replaceKeys(t.serializers, keys, s)
		return t
	})
	return nil
}

// RegisterCompressor registers c under its name, its content type (the
// `compression` header value) and the given aliases, with the same
// replacement rules and errors as [Registry.RegisterSerializer].
func (r *Registry) RegisterCompressor(c Compressor, aliases ...string) error {
	if c == nil {
		return fmt.Errorf("%w: nil compressor", ErrInvalidCodec)
	}
	keys, err := codecKeys(c.Name(), c.ContentType(), aliases)
	if err != nil {
		return err
	}
	r.update(func(t tables) tables {
		t.compressors = replaceKeys(t.compressors, keys, c)
		return t
	})
	return nil
}

// update replaces the snapshot with fn's copy of it.
func (r *Registry) update(fn func(tables) tables) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := fn(*r.load())
	r.cur.Store(&next)
}

// codecKeys validates a codec's name, content type and aliases and returns
// its normalized lookup keys, the name first and the content type second.
func codecKeys(name, contentType string, aliases []string) ([]string, error) {
	name = normType(name)
	ct := normType(contentType)
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: name %q must be non-empty and contain no slash", ErrInvalidCodec, name)
	}
	if !strings.Contains(ct, "/") {
		return nil, fmt.Errorf("%w: %s: content type %q must contain a slash", ErrInvalidCodec, name, contentType)
	}
	keys := []string{name, ct}
	for _, a := range aliases {
		a = normType(a)
		if a == "" || strings.Contains(a, "/") {
			return nil, fmt.Errorf("%w: %s: alias %q must be non-empty and contain no slash", ErrInvalidCodec, name, a)
		}
		keys = append(keys, a)
	}
	return keys, nil
}

// namer is what Serializer and Compressor share.
type namer interface {
	Name() string
	ContentType() string
}

// replaceKeys returns a copy of m in which every codec sharing a name or a
// content type with the new one is dropped, and every key maps to c.
func replaceKeys[C namer](m map[string]C, keys []string, c C) map[string]C {
	next := make(map[string]C, len(m)+len(keys))
	for k, v := range m {
		if normType(v.Name()) == keys[0] || normType(v.ContentType()) == keys[1] {
			continue
		}
		next[k] = v
	}
	for _, k := range keys {
		next[k] = c
	}
	return next
}

// Serializer returns the serializer registered under nameOrContentType
// (a name such as "json", an alias, or a content type such as
// "application/json"), or an error wrapping [ErrUnknownSerializer].
func (r *Registry) Serializer(nameOrContentType string) (Serializer, error) {
	if s, ok := r.load().serializers[normType(nameOrContentType)]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownSerializer, nameOrContentType)
}

// Compressor returns the compressor registered under nameOrContentType (a
// name such as "zlib", an alias such as "gzip", or a `compression` header
// value such as "application/x-gzip"), or an error wrapping
// [ErrUnknownCompression].
func (r *Registry) Compressor(nameOrContentType string) (Compressor, error) {
	if c, ok := r.load().compressors[normType(nameOrContentType)]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCompression, nameOrContentType)
}

// Serializers returns the registered serializers, each once, sorted by name.
func (r *Registry) Serializers() []Serializer { return unique(r.load().serializers) }

// Compressors returns the registered compressors, each once, sorted by name.
func (r *Registry) Compressors() []Compressor { return unique(r.load().compressors) }

func unique[C namer](m map[string]C) []C {
	byName := map[string]C{}
	for _, c := range m {
		byName[normType(c.Name())] = c
	}
	out := make([]C, 0, len(byName))
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[k])
	}
	return out
}
