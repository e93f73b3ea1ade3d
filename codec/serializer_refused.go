package codec

import "fmt"

// refused is a serializer kelp knows by name and content type but never
// runs: pickle executes code on load, and yaml's full loaders can too. It
// is registered so that accept lists can name it, Kombu peers' messages get
// a precise error, and [Registry.Encode] explains the refusal.
type refused struct {
	name, contentType, contentEncoding string
}

var (
	pickleSerializer = refused{"pickle", "application/x-python-serialize", EncodingBinary}
	yamlSerializer   = refused{"yaml", "application/x-yaml", EncodingUTF8}
)

func (s refused) Name() string            { return s.name }
func (s refused) ContentType() string     { return s.contentType }
func (s refused) ContentEncoding() string { return s.contentEncoding }

// Encode always fails with [ErrUnsupported].
func (s refused) Encode(any) ([]byte, error) {
	return nil, fmt.Errorf("%w: kelp never encodes %s (%s)", ErrUnsupported, s.name, s.contentType)
}

// Decode always fails with a [*DisallowedError].
func (s refused) Decode([]byte, any) error {
	return &DisallowedError{
		Name:        s.name,
		ContentType: s.contentType,
		Reason:      "kelp never decodes " + s.name,
	}
}
