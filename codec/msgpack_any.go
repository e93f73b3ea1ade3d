package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// maxNesting bounds the depth of decoded JSON and msgpack documents, as
// encoding/json does.
const maxNesting = 10000

// mpReader is a minimal msgpack reader over a byte slice: just enough to
// decode into Go's dynamic types and to validate a document's shape.
type mpReader struct {
	b   []byte
	off int
}

// decodeMsgpackAny decodes data, which must hold exactly one msgpack value,
// into Go's dynamic types. See [Msgpack].
func decodeMsgpackAny(data []byte) (any, error) { return msgpackDocument(data, true) }

// checkMsgpack validates that data is exactly one well-formed msgpack
// value nested at most maxNesting deep, without building it.
func checkMsgpack(data []byte) error {
	_, err := msgpackDocument(data, false)
	return err
}

func msgpackDocument(data []byte, build bool) (any, error) {
	r := mpReader{b: data}
	x, err := r.value(0, build)
	if err == nil && r.off != len(r.b) {
		err = fmt.Errorf("%d bytes after the top-level value", len(r.b)-r.off)
	}
	if err != nil {
		return nil, decodeErr("msgpack", err)
	}
	return x, nil
}

var errTruncated = fmt.Errorf("truncated data")

func (r *mpReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, errTruncated
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// uint reads a big-endian unsigned integer of size bytes.
func (r *mpReader) uint(size int) (uint64, error) {
	b, err := r.take(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// value reads one value. When build is false it only validates and
// returns nil.
func (r *mpReader) value(depth int, build bool) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("nested deeper than %d levels", maxNesting)
	}
	cb, err := r.take(1)
	if err != nil {
		return nil, err
	}
	c := cb[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c <= 0x8f:
		return r.mapOf(uint64(c&0x0f), depth, build)
	case c <= 0x9f:
		return r.arrayOf(uint64(c&0x0f), depth, build)
	case c <= 0xbf:
		return r.str(uint64(c&0x1f), build)
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		n, err := r.uint(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		b, err := r.take(n)
		if err != nil || !build {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		n, err := r.uint(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return r.ext(n)
	case 0xca: // float32
		u, err := r.uint(4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcb: // float64
		u, err := r.uint(8)
		return math.Float64frombits(u), err
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8/16/32/64
		u, err := r.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8/16/32/64
		size := 1 << (c - 0xd0)
		u, err := r.uint(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size // sign-extend
		return int64(u<<shift) >> shift, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		return r.ext(1 << (c - 0xd4))
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		n, err := r.uint(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return r.str(n, build)
	case 0xdc, 0xdd: // array 16/32
		n, err := r.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return r.arrayOf(n, depth, build)
	case 0xde, 0xdf: // map 16/32
		n, err := r.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return r.mapOf(n, depth, build)
	}
	return nil, fmt.Errorf("invalid code 0x%02x at offset %d", c, r.off-1)
}

func (r *mpReader) str(n uint64, build bool) (any, error) {
	b, err := r.take(n)
	if err != nil || !build {
		return nil, err
	}
	return string(b), nil
}

// ext reads the type byte and n bytes of an extension. Only the timestamp
// extension (-1) is understood.
func (r *mpReader) ext(n uint64) (any, error) {
	tb, err := r.take(1)
	if err != nil {
		return nil, err
	}
	data, err := r.take(n)
	if err != nil {
		return nil, err
	}
	if int8(tb[0]) != -1 {
		return nil, fmt.Errorf("unsupported extension type %d", int8(tb[0]))
	}
	var sec, nsec int64
	switch len(data) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(data))
	case 8:
		u := binary.BigEndian.Uint64(data)
		nsec, sec = int64(u>>34), int64(u&(1<<34-1))
	case 12:
		nsec, sec = int64(binary.BigEndian.Uint32(data)), int64(binary.BigEndian.Uint64(data[4:]))
	default:
		return nil, fmt.Errorf("timestamp extension of %d bytes", len(data))
	}
	if nsec >= 1e9 {
		return nil, fmt.Errorf("timestamp nanoseconds %d out of range", nsec)
	}
	return time.Unix(sec, nsec).UTC(), nil
}

func (r *mpReader) arrayOf(n uint64, depth int, build bool) (any, error) {
	if n > uint64(len(r.b)-r.off) { // every element takes at least one byte
		return nil, errTruncated
	}
	var out []any
	if build {
		out = make([]any, n)
	}
	for i := range n {
		x, err := r.value(depth+1, build)
		if err != nil {
			return nil, err
		}
		if build {
			out[i] = x
		}
	}
	return out, nil
}

func (r *mpReader) mapOf(n uint64, depth int, build bool) (any, error) {
	if n > uint64(len(r.b)-r.off)/2 { // every entry takes at least two bytes
		return nil, errTruncated
	}
	if !build {
		for range 2 * n {
			if _, err := r.value(depth+1, false); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	keys := make([]any, n)
	vals := make([]any, n)
	stringKeys := true
	for i := range n {
		k, err := r.value(depth+1, true)
		if err != nil {
			return nil, err
		}
		switch kk := k.(type) {
		case string:
		case []byte:
			k = string(kk) // bin keys are byte strings, as str keys are text
		case []any, map[string]any, map[any]any:
			return nil, fmt.Errorf("unhashable map key of type %T", k)
		default:
			stringKeys = false
		}
		keys[i] = k
		if vals[i], err = r.value(depth+1, true); err != nil {
			return nil, err
		}
	}
	if stringKeys {
		m := make(map[string]any, n)
		for i, k := range keys {
			m[k.(string)] = vals[i]
		}
		return m, nil
	}
	m := make(map[any]any, n)
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m, nil
}
