package codec

import (
	"fmt"
	"slices"
	"strings"
)

// Accept is a consumer's accept list: the content types it agrees to
// deserialize, Kombu's accept argument. application/data and
// application/text are always allowed, as in Kombu; text/plain is not.
//
// An Accept is immutable once created and safe for concurrent use.
//
// A nil *Accept stands for Kombu's default, which refuses the types its
// registry has disabled (pickle, yaml and msgpack, since Kombu 3.0). kelp's
// nil Accept likewise refuses pickle and yaml (application/x-python-serialize
// and application/x-yaml: their loaders can execute code), so a consumer
// with no accept list rejects such messages instead of handing them out,
// and allows every other content type, msgpack included (it cannot execute
// code when decoded in Go). Pass an explicit list to narrow it.
type Accept struct {
	types []string // normalized content types, sorted, unique
}

// NewAccept returns an accept list of names or content types resolved
// through [Default]; see [Registry.NewAccept].
func NewAccept(namesOrTypes ...string) (*Accept, error) {
	return Default.NewAccept(namesOrTypes...)
}

// NewAccept returns an accept list. Each entry is either a content type
// (anything containing a slash, taken as is, registered or not, like Kombu)
// or a serializer name or alias resolved through r ("json" means
// application/json). An unknown name is an error wrapping
// [ErrUnknownSerializer]. No entries means only the always-trusted types.
func (r *Registry) NewAccept(namesOrTypes ...string) (*Accept, error) {
	a := &Accept{types: make([]string, 0, len(namesOrTypes))}
	for _, n := range namesOrTypes {
		ct := normType(n)
		if !strings.Contains(ct, "/") {
			s, err := r.Serializer(ct)
			if err != nil {
				return nil, fmt.Errorf("codec: accept list: %w", err)
			}
			ct = normType(s.ContentType())
		}
		a.types = append(a.types, ct)
	}
	slices.Sort(a.types)
	a.types = slices.Compact(a.types)
	return a, nil
}

// Allows reports whether a message of contentType may be deserialized. A
// missing content type is application/data. The comparison ignores case
// and MIME parameters. A nil Accept allows everything but pickle and yaml.
func (a *Accept) Allows(contentType string) bool {
	ct := normType(contentType)
	if a == nil {
		return ct != pickleSerializer.contentType && ct != yamlSerializer.contentType
	}
	switch ct {
	case "", ContentTypeData, ContentTypeText:
		return true
	}
	_, found := slices.BinarySearch(a.types, ct)
	return found
}

// ContentTypes returns the content types a lists, sorted, not including the
// always-trusted ones unless they were listed. It returns nil for a nil
// Accept.
func (a *Accept) ContentTypes() []string {
	if a == nil {
		return nil
	}
	return slices.Clone(a.types)
}

// String returns the list as "application/json,application/x-msgpack", or
// "<any>" for a nil Accept.
func (a *Accept) String() string {
	if a == nil {
		return "<any>"
	}
	return strings.Join(a.types, ",")
}
