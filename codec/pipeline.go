package codec

import (
	"fmt"
	"reflect"
)

// Content types chosen by [Registry.Encode] when no serializer is named,
// following Kombu's dumps(data, serializer=None).
const (
	autoBytes  = ContentTypeData    // []byte → raw
	autoString = "text/plain"       // string → text
	autoOther  = "application/json" // anything else → json
)

// Encode serializes v with the serializer registered under serializer (a
// name, alias or content type) and returns the body with the content type
// and content encoding to put on the message.
//
// An empty serializer picks one as Kombu does when none is configured: a
// []byte is sent raw (application/data, binary), a string as text/plain
// (utf-8), anything else as JSON. Errors wrap [ErrUnknownSerializer],
// [ErrEncode] or [ErrUnsupported].
func (r *Registry) Encode(serializer string, v any) (body []byte, contentType, contentEncoding string, err error) {
	if serializer == "" {
		switch v.(type) {
		case []byte:
			serializer = autoBytes
		case string:
			serializer = autoString
		default:
			serializer = autoOther
		}
	}
	s, err := r.Serializer(serializer)
	if err != nil {
		return nil, "", "", err
	}
	body, err = s.Encode(v)
	if err != nil {
		return nil, "", "", encodeErr(s.Name(), err)
	}
	contentEncoding = s.ContentEncoding()
	if d, ok := s.(dynamicEncoder); ok {
		contentEncoding = d.encodingOf(v)
	}
	return body, s.ContentType(), contentEncoding, nil
}

// dynamicEncoder is implemented by serializers whose content encoding
// depends on the value, like Kombu's raw serializer, which labels a str
// "utf-8" and bytes "binary".
type dynamicEncoder interface {
	encodingOf(v any) string
}

// textualDecoder is implemented by serializers that have no decoder in
// Kombu (raw, text): their bodies go through Kombu's fallback, in which the
// content encoding decides between text and bytes.
type textualDecoder interface {
	decodeEncoded(data []byte, contentEncoding string, v any) error
}

// Decode deserializes body into the value v points to, following Kombu's
// loads:
//
//   - A missing content type means application/data.
//   - The accept check comes first: a type that accept does not allow is
//     refused with a [*DisallowedError] (wrapping [ErrContentDisallowed])
//     before anything else. application/data and application/text are
//     always allowed; a nil accept allows everything but pickle and yaml
//     (see [Accept]).
//   - Types kelp never decodes (pickle, yaml) are then refused with a
//     [*DisallowedError] explaining why.
//   - An empty body, a type with no registered serializer, and the raw and
//     text serializers follow Kombu's fallback: unless contentEncoding is
//     "binary" (or "ascii-8bit"), the body is text in that encoding (a
//     missing encoding means utf-8), decoded into a *string or an *any as a
//     string; a binary body goes into an *any as []byte. A *[]byte receives
//     the bytes and a *string the text in either case.
//   - Otherwise the serializer decodes. Its failures wrap [ErrDecode].
//
// v must be a non-nil pointer. Decode copies what it keeps: body may be
// reused once it returns.
func (r *Registry) Decode(contentType, contentEncoding string, body []byte, accept *Accept, v any) error {
	ct := normType(contentType)
	if ct == "" {
		ct = ContentTypeData
	}
	s, known := r.load().serializers[ct]
	if _, refuse := s.(refused); refuse && accept == nil {
		return s.Decode(body, v) // the default list refuses it: say why
	}
	if !accept.Allows(ct) {
		e := &DisallowedError{ContentType: ct, Reason: reasonUntrusted}
		if known {
			e.Name = s.Name()
		}
		return e
	}
	if err := checkTarget(v); err != nil {
		return err
	}
	if known {
		if _, refuse := s.(refused); refuse {
			return s.Decode(body, v)
		}
	}
	if len(body) == 0 || !known {
		return decodeText(body, contentEncoding, v)
	}
	if t, ok := s.(textualDecoder); ok {
		return t.decodeEncoded(body, contentEncoding, v)
	}
	if err := s.Decode(body, v); err != nil {
		return decodeErr(s.Name(), err)
	}
	return nil
}

// checkTarget returns an [ErrDecode] error unless v is a non-nil pointer.
func checkTarget(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: decode target must be a non-nil pointer, got %T", ErrDecode, v)
	}
	return nil
}

// Compress compresses body with the compressor registered under name (a
// name, alias or `compression` header value) and returns the compressed
// body and the `compression` header value to send with it. An empty name
// means no compression: body is returned as is with an empty header.
// Errors wrap [ErrUnknownCompression], [ErrEncode] or [ErrUnsupported].
func (r *Registry) Compress(name string, body []byte) (out []byte, header string, err error) {
	if name == "" {
		return body, "", nil
	}
	c, err := r.Compressor(name)
	if err != nil {
		return nil, "", err
	}
	out, err = c.Compress(body)
	if err != nil {
		return nil, "", encodeErr(c.Name(), err)
	}
	return out, c.ContentType(), nil
}

// Decompress decompresses body according to header, the message's
// `compression` header value (names and aliases are accepted too, as in
// Kombu). An empty header means the body is not compressed: it is returned
// as is. A limit <= 0 means [DefaultMaxDecompressedSize]. Output larger
// than limit fails with an error wrapping [ErrTooLarge] without being
// allocated in full. Errors wrap [ErrUnknownCompression], [ErrTooLarge] or
// [ErrDecode].
func (r *Registry) Decompress(header string, body []byte, limit int64) ([]byte, error) {
	if header == "" {
		return body, nil
	}
	c, err := r.Compressor(header)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	out, err := c.Decompress(body, limit)
	if err != nil {
		return nil, decodeErr(c.Name(), err)
	}
	return out, nil
}
