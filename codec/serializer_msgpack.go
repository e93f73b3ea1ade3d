package codec

import (
	"bytes"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Msgpack is the msgpack serializer: application/x-msgpack, binary. It is
// registered in [Default] as "msgpack".
//
// Encode uses github.com/vmihailenco/msgpack/v5 with compact integers and
// the `json` struct tag as a fallback for fields without a `msgpack` tag,
// so one struct definition serves both serializers. Strings are msgpack
// str and []byte is bin, which is what Kombu's packb(use_bin_type=True)
// writes and its unpackb(raw=False) expects; a time.Time is the standard
// timestamp extension.
//
// Decoding into an *any is done by kelp itself, mirroring Python's
// unpackb(raw=False): nil, bool, int64 for every integer that fits (uint64
// above that), float64 for both float widths, string for str, []byte for
// bin, []any for arrays, time.Time for timestamps, map[string]any for maps
// whose keys are all str or bin, and map[any]any for maps with other
// scalar keys. Other extension types, and maps keyed by arrays or maps,
// fail with [ErrDecode].
//
// Decoding into other types uses vmihailenco/msgpack; values it stores in
// interfaces inside the target (an any field, a map[string]any) follow the
// same number rules as *any: int64 unless only uint64 fits, float64. Every
// body is first checked in one linear pass for structure,
// trailing bytes and nesting deeper than 10000 levels, so hostile input
// cannot exhaust the stack.
//
// The zero value is ready to use.
type Msgpack struct{}

// Name returns "msgpack".
func (Msgpack) Name() string { return "msgpack" }

// ContentType returns "application/x-msgpack".
func (Msgpack) ContentType() string { return "application/x-msgpack" }

// ContentEncoding returns "binary".
func (Msgpack) ContentEncoding() string { return EncodingBinary }

// Encode returns the msgpack encoding of v. See [Msgpack].
func (Msgpack) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(&buf)
	enc.UseCompactInts(true)
	enc.SetCustomStructTag("json")
	if err := enc.Encode(v); err != nil {
		return nil, encodeErr("msgpack", err)
	}
	return buf.Bytes(), nil
}

// Decode parses data into v. See [Msgpack].
func (Msgpack) Decode(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		x, err := decodeMsgpackAny(data)
		if err != nil {
			return err
		}
		*p = x
		return nil
	}
	if err := checkMsgpack(data); err != nil {
		return err
	}
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(bytes.NewReader(data))
	dec.UseLooseInterfaceDecoding(true)
	dec.SetCustomStructTag("json")
	if err := dec.Decode(v); err != nil {
		return decodeErr("msgpack", err)
	}
	normalizeInts(reflect.ValueOf(v).Elem())
	return nil
}
