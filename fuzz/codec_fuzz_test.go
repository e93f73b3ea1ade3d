package fuzz_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kelpmq/kelp/codec"
)

// codecFixtures returns the Kombu-generated bodies in codec/testdata/kombu,
// to seed the codec fuzz targets with real traffic.
func codecFixtures(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "codec", "testdata", "kombu", "*.bin"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecompress feeds arbitrary bytes to every compressor: none may panic,
// output never exceeds the limit, every failure is ErrDecode or
// ErrTooLarge, and the limit is exact: a body that decodes to n bytes
// decodes under limit n and fails under n-1.
func FuzzDecompress(f *testing.F) {
	text := []byte(strings.Repeat("fuzz the decompressors ", 20))
	for _, c := range codec.Default.Compressors() {
		if out, err := c.Compress(text); err == nil {
			f.Add(out, uint32(len(text)))
			f.Add(out, uint32(len(text)-1))
		}
	}
	for _, b := range codecFixtures(f) {
		f.Add(b, uint32(1<<16))
	}
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint32(100))
	f.Fuzz(func(t *testing.T, data []byte, limit uint32) {
		lim := int64(limit%(4<<20)) + 1
		for _, c := range codec.Default.Compressors() {
			out, err := c.Decompress(data, lim)
			if err != nil {
				if !errors.Is(err, codec.ErrDecode) && !errors.Is(err, codec.ErrTooLarge) {
					t.Fatalf("%s: error matches no sentinel: %v", c.Name(), err)
				}
				continue
			}
			if int64(len(out)) > lim {
				t.Fatalf("%s: %d bytes out under limit %d", c.Name(), len(out), lim)
			}
			again, err := c.Decompress(data, int64(max(len(out), 1)))
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("%s: limit %d = output size fails or differs: %v", c.Name(), len(out), err)
			}
			if len(out) > 1 {
				if _, err := c.Decompress(data, int64(len(out)-1)); !errors.Is(err, codec.ErrTooLarge) {
					t.Fatalf("%s: limit one below the output size: err = %v", c.Name(), err)
				}
			}
		}
	})
}

// codecTarget is a typed decode target with the shapes serializers treat
// specially: times, bytes, nested dynamic values.
type codecTarget struct {
	A any            `json:"a"`
	S string         `json:"s"`
	N int64          `json:"n"`
	B []byte         `json:"b"`
	M map[string]any `json:"m"`
	L []any          `json:"l"`
}

// FuzzSerializerDecode decodes arbitrary bytes with every serializer, into
// *any and into a struct, through the registry with assorted content
// encodings: no panic, and every failure matches a sentinel. A value
// decoded into *any must encode again with the same serializer, and
// msgpack must then decode to an equal value.
func FuzzSerializerDecode(f *testing.F) {
	for _, b := range codecFixtures(f) {
		f.Add(b, uint8(0))
	}
	f.Add([]byte(`{"__type__": "datetime", "__value__": "2024-02-29T13:14:15.5+05:30"}`), uint8(1))
	f.Add([]byte(`[{"__type__": "uuid", "__value__": {"hex": "0d3b5e7e8f4a4c1b9a2e6c7d8e9f0a1b"}}]`), uint8(2))
	f.Add([]byte{0x82, 0x01, 0xa1, 'a', 0xc4, 1, 'k', 0xd6, 0xff, 0, 0, 0, 1}, uint8(3))
	f.Add([]byte("caf\xe9"), uint8(4))
	encodings := []string{"", "utf-8", "binary", "latin-1", "ascii", "bogus"}
	f.Fuzz(func(t *testing.T, data []byte, enc uint8) {
		encoding := encodings[int(enc)%len(encodings)]
		for _, s := range codec.Default.Serializers() {
			var v any
			err := codec.Default.Decode(s.ContentType(), encoding, data, nil, &v)
			checkDecodeErr(t, s.Name(), err)
			var st codecTarget
			checkDecodeErr(t, s.Name()+" struct", codec.Default.Decode(s.ContentType(), encoding, data, nil, &st))
			checkDecodeErr(t, s.Name()+" direct", s.Decode(data, new(any)))
			if err != nil || len(data) == 0 || (s.Name() != "json" && s.Name() != "msgpack") {
				continue
			}
			body, err := s.Encode(v)
			if err != nil {
				t.Fatalf("%s: decoded %#v does not encode: %v", s.Name(), v, err)
			}
			var back any
			if err := s.Decode(body, &back); err != nil {
				t.Fatalf("%s: re-encoded %q does not decode: %v", s.Name(), body, err)
			}
			if s.Name() == "msgpack" && !sameValue(v, back) {
				t.Fatalf("msgpack: %#v re-decoded as %#v", v, back)
			}
		}
	})
}

func checkDecodeErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, codec.ErrDecode) && !errors.Is(err, codec.ErrContentDisallowed) {
		t.Fatalf("%s: error matches no sentinel: %v", what, err)
	}
}

// sameValue is reflect.DeepEqual, with NaN equal to itself.
func sameValue(a, b any) bool {
	return codecEqualBy(a, b, func(a, b any) bool {
		x, xok := a.(float64)
		y, yok := b.(float64)
		if xok && yok && math.IsNaN(x) && math.IsNaN(y) {
			return true
		}
		return reflect.DeepEqual(a, b)
	})
}

// codecEqualBy compares the slices and maps of got and want element by
// element, and everything else with leaf.
func codecEqualBy(got, want any, leaf func(got, want any) bool) bool {
	switch w := want.(type) {
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !codecEqualBy(g[i], w[i], leaf) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		return ok && codecEqualMaps(g, w, leaf)
	case map[any]any:
		g, ok := got.(map[any]any)
		return ok && codecEqualMaps(g, w, leaf)
	}
	return leaf(got, want)
}

func codecEqualMaps[K comparable](got, want map[K]any, leaf func(got, want any) bool) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		x, ok := got[k]
		if f, isFloat := any(k).(float64); !ok && isFloat && math.IsNaN(f) {
			continue // a NaN key cannot be looked up
		}
		if !ok || !codecEqualBy(x, v, leaf) {
			return false
		}
	}
	return true
}

// codecGen derives a dynamic value from fuzz input: nil, bool, int64,
// uint64, finite float64, string, []byte, []any and map[string]any.
type codecGen struct {
	data []byte
	utf8 bool // strings must be valid UTF-8 (JSON, text)
}

func (g *codecGen) next() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *codecGen) bytes() []byte {
	n := min(int(g.next()%32), len(g.data))
	b := append([]byte{}, g.data[:n]...)
	g.data = g.data[n:]
	return b
}

func (g *codecGen) str() string {
	s := string(g.bytes())
	if g.utf8 {
		s = strings.ToValidUTF8(s, "?")
	}
	if s == "__type__" {
		s = "type" // a lone marker key would change the meaning for JSON
	}
	return s
}

func (g *codecGen) u64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = g.next()
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (g *codecGen) value(depth int) any {
	switch op := g.next() % 10; {
	case op == 0:
		return nil
	case op == 1:
		return g.next()%2 == 1
	case op == 2:
		return int64(g.u64())
	case op == 3:
		return g.u64() | 1<<63 // above int64: stays uint64
	case op == 4:
		return float64(int32(g.u64())) / float64(int(g.next())+1)
	case op == 5:
		return g.str()
	case op == 6:
		return g.bytes()
	case op == 7 && depth < 6:
		out := []any{}
		for range g.next() % 5 {
			out = append(out, g.value(depth+1))
		}
		return out
	case op >= 8 && depth < 6:
		out := map[string]any{}
		for range g.next() % 5 {
			out[g.str()] = g.value(depth + 1)
		}
		return out
	}
	return "leaf"
}

// FuzzRoundTrip checks decode(encode(v)) == v for each serializer on
// values derived from the input (JSON's view: numbers as json.Number,
// []byte as base64), and decompress(compress(b)) == b for each compressor.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x08\x03\x05\x03key\x02\x01\x02\x03\x04\x05\x06\x07\x08\x07\x02\x01\x01\x04\x10\x20\x30\x40\x05"))
	f.Add([]byte("\x09\x04\x05\x01a\x06\x03\xff\x00\x01\x05\x01b\x03\xff\xff\xff\xff\xff\xff\xff\xff\x05\x01c\x00"))
	f.Add([]byte(strings.Repeat("kelp", 100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Serializers through the registry, as a producer and a consumer would.
		for _, name := range []string{"json", "msgpack"} {
			g := &codecGen{data: data, utf8: name == "json"}
			v := g.value(0)
			body, ct, ce, err := codec.Default.Encode(name, v)
			if err != nil {
				t.Fatalf("%s: encode %#v: %v", name, v, err)
			}
			var back any
			if err := codec.Default.Decode(ct, ce, body, nil, &back); err != nil {
				t.Fatalf("%s: decode %q: %v", name, body, err)
			}
			equal := sameValue(back, v)
			if name == "json" {
				equal = jsonView(back, v)
			}
			if !equal {
				t.Fatalf("%s: %#v came back as %#v (body %q)", name, v, back, body)
			}
		}
		var raw []byte
		if err := roundTrip("raw", data, &raw); err != nil || !bytes.Equal(raw, data) {
			t.Fatalf("raw: %q came back as %q: %v", data, raw, err)
		}
		if utf8.Valid(data) {
			var text string
			if err := roundTrip("text", string(data), &text); err != nil || text != string(data) {
				t.Fatalf("text: %q came back as %q: %v", data, text, err)
			}
		}
		for _, c := range codec.Default.Compressors() {
			out, header, err := codec.Default.Compress(c.Name(), data)
			if errors.Is(err, codec.ErrUnsupported) {
				continue // bzip2
			}
			if err != nil {
				t.Fatalf("%s: compress: %v", c.Name(), err)
			}
			back, err := codec.Default.Decompress(header, out, int64(max(len(data), 1)))
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("%s: %d bytes came back as %d: %v", c.Name(), len(data), len(back), err)
			}
		}
	})
}

func roundTrip(serializer string, v, out any) error {
	body, ct, ce, err := codec.Default.Encode(serializer, v)
	if err != nil {
		return err
	}
	return codec.Default.Decode(ct, ce, body, nil, out)
}

// jsonView reports whether got, decoded from JSON into *any, is what JSON
// makes of want.
func jsonView(got, want any) bool {
	return codecEqualBy(got, want, func(got, want any) bool {
		n, isNumber := got.(json.Number)
		switch w := want.(type) {
		case int64:
			return isNumber && string(n) == strconv.FormatInt(w, 10)
		case uint64:
			return isNumber && string(n) == strconv.FormatUint(w, 10)
		case float64:
			f, err := strconv.ParseFloat(string(n), 64)
			return isNumber && err == nil && f == w
		case []byte:
			s, ok := got.(string)
			return ok && s == base64.StdEncoding.EncodeToString(w)
		}
		return reflect.DeepEqual(got, want)
	})
}
