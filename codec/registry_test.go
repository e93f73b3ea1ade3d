package codec_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/codec"
)

// upper is a toy serializer for registry tests.
type upper struct{ name, ct string }

func (u upper) Name() string            { return u.name }
func (u upper) ContentType() string     { return u.ct }
func (u upper) ContentEncoding() string { return "utf-8" }
func (u upper) Encode(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a string")
	}
	return []byte(s + "!"), nil
}
func (u upper) Decode(data []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("want *string")
	}
	*p = u.name + ":" + string(data)
	return nil
}

func names[T interface{ Name() string }](list []T) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.Name()
	}
	return out
}

func TestDefaultHasBuiltins(t *testing.T) {
	if got := fmt.Sprint(names(codec.Default.Serializers())); got != "[json msgpack pickle raw text yaml]" {
		t.Errorf("serializers = %s", got)
	}
	if got := fmt.Sprint(names(codec.Default.Compressors())); got != "[brotli bzip2 lzma snappy zlib zstd]" {
		t.Errorf("compressors = %s", got)
	}
	for _, s := range codec.Default.Serializers() {
		want := map[string][2]string{
			"json": {"application/json", "utf-8"}, "msgpack": {"application/x-msgpack", "binary"},
			"raw": {"application/data", "binary"}, "text": {"text/plain", "utf-8"},
			"yaml": {"application/x-yaml", "utf-8"}, "pickle": {"application/x-python-serialize", "binary"},
		}[s.Name()]
		if s.ContentType() != want[0] || s.ContentEncoding() != want[1] {
			t.Errorf("%s: %s %s, want %v", s.Name(), s.ContentType(), s.ContentEncoding(), want)
		}
	}
}

func TestRegistryRegisterAndLookup(t *testing.T) {
	r := codec.NewRegistry()
	if len(r.Serializers()) != 0 || len(r.Compressors()) != 0 {
		t.Fatal("NewRegistry is not empty")
	}
	if err := r.RegisterSerializer(upper{"up", "application/x-up"}, "UP2"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"up", "UP", "up2", "application/x-up", "Application/X-Up; v=1"} {
		if s, err := r.Serializer(key); err != nil || s.Name() != "up" {
			t.Errorf("Serializer(%q) = %v, %v", key, s, err)
		}
	}
	body, ct, ce, err := r.Encode("up", "hi")
	if err != nil || string(body) != "hi!" || ct != "application/x-up" || ce != "utf-8" {
		t.Fatalf("Encode = %q %q %q %v", body, ct, ce, err)
	}
	var s string
	if err := r.Decode(ct, ce, body, nil, &s); err != nil || s != "up:hi!" {
		t.Fatalf("Decode = %q, %v", s, err)
	}
	// A custom serializer's plain errors are wrapped.
	if err := r.Decode(ct, ce, body, nil, new(int)); !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("decode failure: err = %v", err)
	}
	if _, _, _, err := r.Encode("up", 1); !errors.Is(err, codec.ErrEncode) {
		t.Fatalf("encode failure: err = %v", err)
	}
	// Auto-selection needs the serializers it picks.
	if _, _, _, err := r.Encode("", 1); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Fatalf("Encode auto on a registry without json: err = %v", err)
	}
}

func TestRegistryReplace(t *testing.T) {
	r := codec.NewRegistry()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.RegisterSerializer(upper{"a", "application/x-a"}, "alias-a"))
	// Same name, new content type: the old one and all its keys go.
	must(r.RegisterSerializer(upper{"a", "application/x-a2"}))
	if _, err := r.Serializer("application/x-a"); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Errorf("old content type still resolves: %v", err)
	}
	if _, err := r.Serializer("alias-a"); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Errorf("old alias still resolves: %v", err)
	}
	// Same content type, new name: replaces too.
	must(r.RegisterSerializer(upper{"b", "application/x-a2"}))
	if _, err := r.Serializer("a"); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Errorf("old name still resolves: %v", err)
	}
	if got := names(r.Serializers()); len(got) != 1 || got[0] != "b" {
		t.Errorf("serializers = %v", got)
	}
}

func TestRegistryInvalid(t *testing.T) {
	r := codec.NewRegistry()
	bad := []struct {
		s       codec.Serializer
		aliases []string
	}{
		{nil, nil},
		{upper{"", "a/b"}, nil},
		{upper{"x/y", "a/b"}, nil},
		{upper{"x", "nocontenttype"}, nil},
		{upper{"x", "a/b"}, []string{""}},
		{upper{"x", "a/b"}, []string{"c/d"}},
	}
	for _, b := range bad {
		if err := r.RegisterSerializer(b.s, b.aliases...); !errors.Is(err, codec.ErrInvalidCodec) {
			t.Errorf("RegisterSerializer(%#v, %q): err = %v", b.s, b.aliases, err)
		}
	}
	if err := r.RegisterCompressor(nil); !errors.Is(err, codec.ErrInvalidCodec) {
		t.Errorf("nil compressor: err = %v", err)
	}
	if err := r.RegisterCompressor(codec.NewSnappy(), "x/y"); !errors.Is(err, codec.ErrInvalidCodec) {
		t.Errorf("slash alias: err = %v", err)
	}
}

func TestRegistryClone(t *testing.T) {
	r := codec.Default.Clone()
	if err := r.RegisterSerializer(upper{"json", "application/json"}); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterCompressor(codec.NewSnappy(), "fast"); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.Serializer("json"); s.Name() != "json" || fmt.Sprintf("%T", s) != "codec_test.upper" {
		t.Errorf("clone: json = %T", s)
	}
	if s, _ := codec.Default.Serializer("json"); fmt.Sprintf("%T", s) != "codec.JSON" {
		t.Errorf("Default changed by its clone: json = %T", s)
	}
	if _, err := codec.Default.Compressor("fast"); err == nil {
		t.Error("Default sees the clone's alias")
	}
	if _, err := r.Compressor("zstd"); err != nil {
		t.Errorf("clone lost zstd: %v", err)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := codec.Default.Clone()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				name := fmt.Sprintf("s%d-%d", i, j)
				if err := r.RegisterSerializer(upper{name, "application/" + name}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 200 {
				body, ct, ce, err := r.Encode("json", []int{1})
				var v any
				if err == nil {
					err = r.Decode(ct, ce, body, nil, &v)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(r.Serializers()); n != 6+400 {
		t.Fatalf("%d serializers, want %d", n, 6+400)
	}
}

func TestZeroRegistryIsUsable(t *testing.T) {
	var r codec.Registry
	if _, err := r.Serializer("json"); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Fatalf("zero registry lookup: %v", err)
	}
	if err := r.RegisterCompressor(codec.NewSnappy()); err != nil {
		t.Fatal(err)
	}
	if c, err := r.Compressor("application/x-snappy"); err != nil || c.Name() != "snappy" {
		t.Fatalf("after register: %v, %v", c, err)
	}
	if len(r.Clone().Compressors()) != 1 {
		t.Fatal("clone of zero-value registry lost its codec")
	}
}
