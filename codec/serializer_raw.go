package codec

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Raw is Kombu's raw pseudo-serializer: the body is the value's bytes,
// content type application/data. It is registered in [Default] as "raw".
//
// Encode accepts a []byte or a string, or any type whose underlying type is
// one of those (json.RawMessage, msgpack.RawMessage, named string types),
// and nil (an empty body). The bytes are copied. As in Kombu, a string body
// is labelled "utf-8" by [Registry.Encode] and everything else "binary".
//
// Decode copies the body into a *[]byte, a *string or an *any (as []byte).
// Through [Registry.Decode] the content encoding is honoured: a body whose
// encoding is not binary decodes into an *any as a string.
//
// The zero value is ready to use.
type Raw struct{}

// Name returns "raw".
func (Raw) Name() string { return "raw" }

// ContentType returns "application/data".
func (Raw) ContentType() string { return ContentTypeData }

// ContentEncoding returns "binary".
func (Raw) ContentEncoding() string { return EncodingBinary }

// Encode returns a copy of v's bytes. See [Raw].
func (Raw) Encode(v any) ([]byte, error) {
	b, _, err := rawBytes(v)
	if err != nil {
		return nil, encodeErr("raw", err)
	}
	return b, nil
}

// Decode copies data into v. See [Raw].
func (Raw) Decode(data []byte, v any) error { return decodeText(data, EncodingBinary, v) }

func (Raw) encodingOf(v any) string {
	if isStringValue(v) {
		return EncodingUTF8
	}
	return EncodingBinary
}

// isStringValue reports whether rawBytes would treat v as a string,
// without copying it.
func isStringValue(v any) bool {
	switch v.(type) {
	case string:
		return true
	case nil, []byte:
		return false
	}
	return reflect.ValueOf(v).Kind() == reflect.String
}

func (Raw) decodeEncoded(data []byte, enc string, v any) error { return decodeText(data, enc, v) }

// Text serializes strings as text/plain in utf-8, which is what Kombu sends
// for a str body when no serializer is configured. Kombu has no decoder for
// text/plain; kelp's follows Kombu's fallback. It is registered in [Default]
// as "text".
//
// Encode accepts what [Raw] accepts and refuses bytes that are not valid
// UTF-8. Decode fills a *string, an *any (as a string) or a *[]byte, and
// refuses invalid UTF-8 with [ErrDecode], as Python's decoder would.
//
// The zero value is ready to use.
type Text struct{}

// Name returns "text".
func (Text) Name() string { return "text" }

// ContentType returns "text/plain".
func (Text) ContentType() string { return "text/plain" }

// ContentEncoding returns "utf-8".
func (Text) ContentEncoding() string { return EncodingUTF8 }

// Encode returns a copy of v's bytes, which must be valid UTF-8. See [Text].
func (Text) Encode(v any) ([]byte, error) {
	b, _, err := rawBytes(v)
	if err != nil {
		return nil, encodeErr("text", err)
	}
	if !utf8.Valid(b) {
		return nil, encodeErr("text", fmt.Errorf("value is not valid UTF-8"))
	}
	return b, nil
}

// Decode fills v with data as UTF-8 text. See [Text].
func (Text) Decode(data []byte, v any) error { return decodeText(data, EncodingUTF8, v) }

func (Text) decodeEncoded(data []byte, enc string, v any) error { return decodeText(data, enc, v) }

// rawBytes returns a copy of the bytes of a []byte- or string-like v, and
// whether it was a string.
func rawBytes(v any) (b []byte, isString bool, err error) {
	switch x := v.(type) {
	case nil:
		return []byte{}, false, nil
	case []byte:
		return append([]byte{}, x...), false, nil
	case string:
		return []byte(x), true, nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.String:
		return []byte(rv.String()), true, nil
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8:
		return append([]byte{}, rv.Bytes()...), false, nil
	}
	return nil, false, fmt.Errorf("cannot send %T as raw bytes; use []byte or string", v)
}

// decodeText is Kombu's fallback for bodies without a decoder: text in
// contentEncoding unless that is binary. See [Registry.Decode].
func decodeText(data []byte, contentEncoding string, v any) error {
	if p, ok := v.(*[]byte); ok {
		*p = append([]byte{}, data...)
		return nil
	}
	_, toString := v.(*string)
	p, toAny := v.(*any)
	if toString || toAny {
		var x any
		switch {
		case toString && isBinary(contentEncoding):
			x = string(data)
		case isBinary(contentEncoding):
			x = append([]byte{}, data...)
		default:
			s, err := textOf(data, contentEncoding)
			if err != nil {
				return err
			}
			x = s
		}
		if toString {
			*v.(*string) = x.(string)
		} else {
			*p = x
		}
		return nil
	}
	if err := checkTarget(v); err != nil {
		return err
	}
	rv := reflect.ValueOf(v).Elem()
	switch {
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8:
		rv.SetBytes(append([]byte{}, data...))
		return nil
	case rv.Kind() == reflect.String:
		var s string
		if err := decodeText(data, contentEncoding, &s); err != nil {
			return err
		}
		rv.SetString(s)
		return nil
	}
	return fmt.Errorf("%w: cannot decode a %s body into %T; use *[]byte, *string or *any", ErrDecode, describeEncoding(contentEncoding), v)
}

func describeEncoding(enc string) string {
	if isBinary(enc) {
		return "binary"
	}
	return "text"
}

// isBinary reports whether Kombu skips text decoding for enc.
func isBinary(enc string) bool {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case EncodingBinary, "ascii-8bit":
		return true
	}
	return false
}

// textOf decodes data as text in enc (empty means utf-8, as in Kombu).
// It knows the encodings Kombu peers use in practice.
func textOf(data []byte, enc string) (string, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(enc)), "_", "-") {
	case "", "utf-8", "utf8", "u8":
		if !utf8.Valid(data) {
			return "", fmt.Errorf("%w: body is not valid utf-8", ErrDecode)
		}
		return string(data), nil
	case "ascii", "us-ascii", "646":
		for _, c := range data {
			if c >= utf8.RuneSelf {
				return "", fmt.Errorf("%w: body is not valid ascii", ErrDecode)
			}
		}
		return string(data), nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1":
		var sb strings.Builder
		sb.Grow(len(data))
		for _, c := range data {
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	}
	return "", fmt.Errorf("%w: unsupported content encoding %q", ErrDecode, enc)
}
