package codec_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/kelpmq/kelp/codec"
)

type myString string
type myBytes []byte

func TestEncodeAuto(t *testing.T) {
	tests := []struct {
		name         string
		serializer   string
		v            any
		body, ct, ce string
	}{
		{"bytes go raw", "", []byte{0, 1}, "\x00\x01", "application/data", "binary"},
		{"string goes text/plain", "", "hé", "hé", "text/plain", "utf-8"},
		{"others go json", "", map[string]int{"a": 1}, `{"a":1}`, "application/json", "utf-8"},
		{"raw string is utf-8", "raw", "s", "s", "application/data", "utf-8"},
		{"raw bytes are binary", "raw", []byte("b"), "b", "application/data", "binary"},
		{"raw RawMessage", "raw", json.RawMessage(`{}`), "{}", "application/data", "binary"},
		{"raw named string", "raw", myString("n"), "n", "application/data", "utf-8"},
		{"raw nil", "raw", nil, "", "application/data", "binary"},
		{"text by content type", "text/plain", "t", "t", "text/plain", "utf-8"},
		{"text named bytes", "text", myBytes("t"), "t", "text/plain", "utf-8"},
		{"json by content type", "application/json", 1, "1", "application/json", "utf-8"},
		{"case-insensitive", "JSON", true, "true", "application/json", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct, ce, err := codec.Default.Encode(tt.serializer, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.body || ct != tt.ct || ce != tt.ce {
				t.Fatalf("got %q %q %q, want %q %q %q", body, ct, ce, tt.body, tt.ct, tt.ce)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		serializer string
		v          any
		want       error
	}{
		{"raw", 42, codec.ErrEncode},
		{"text", []byte{0xff}, codec.ErrEncode},
		{"text", 1.5, codec.ErrEncode},
		{"pickle", "x", codec.ErrUnsupported},
		{"yaml", "x", codec.ErrUnsupported},
		{"bson", "x", codec.ErrUnknownSerializer},
		{"msgpack", make(chan int), codec.ErrEncode},
	}
	for _, tt := range tests {
		if _, _, _, err := codec.Default.Encode(tt.serializer, tt.v); !errors.Is(err, tt.want) {
			t.Errorf("Encode(%s, %T): err = %v, want %v", tt.serializer, tt.v, err, tt.want)
		}
	}
}

func TestEncodedBodiesAreCopies(t *testing.T) {
	in := []byte("mutable")
	body, _, _, err := codec.Default.Encode("raw", in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	if string(body) != "mutable" {
		t.Fatal("raw Encode aliases its input")
	}
	var out []byte
	if err := codec.Default.Decode("", "", body, nil, &out); err != nil {
		t.Fatal(err)
	}
	body[0] = 'Y'
	if string(out) != "mutable" {
		t.Fatal("Decode into *[]byte aliases the body")
	}
}

// TestDecodeFallback covers Kombu's loads fallback: no content type means
// application/data; types without a decoder become text unless binary.
func TestDecodeFallback(t *testing.T) {
	tests := []struct {
		name   string
		ct, ce string
		body   string
		want   any // decoded into *any; error when it is an error
	}{
		{"missing type and encoding is utf-8 text", "", "", "hi", "hi"},
		{"missing type, binary", "", "binary", "\xff", []byte{0xff}},
		{"ascii-8bit is binary", "application/data", "ascii-8bit", "\xff", []byte{0xff}},
		{"raw utf-8 is text", "application/data", "utf-8", "hé", "hé"},
		{"text/plain", "text/plain", "utf-8", "t", "t"},
		{"application/text", "application/text", "utf-8", "t", "t"},
		{"unknown type, text", "application/x-custom", "utf-8", "c", "c"},
		{"unknown type, binary", "application/x-custom", "binary", "c", []byte("c")},
		{"unknown type, latin-1", "application/x-custom", "latin-1", "caf\xe9", "café"},
		{"unknown type, ascii", "application/x-custom", "US-ASCII", "abc", "abc"},
		{"empty json body is not parsed", "application/json", "utf-8", "", ""},
		{"empty msgpack body is not parsed", "application/x-msgpack", "binary", "", []byte{}},
		{"content type parameters ignored", "Application/JSON; charset=utf-8", "utf-8", "[]", []any{}},
		{"invalid utf-8 text", "text/plain", "utf-8", "\xff", codec.ErrDecode},
		{"non-ascii under ascii", "application/x-custom", "ascii", "\xc3\xa9", codec.ErrDecode},
		{"unknown charset", "application/x-custom", "ebcdic", "x", codec.ErrDecode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			err := codec.Default.Decode(tt.ct, tt.ce, []byte(tt.body), nil, &got)
			if want, ok := tt.want.(error); ok {
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalValues(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeTargets(t *testing.T) {
	var s string
	if err := codec.Default.Decode("application/data", "binary", []byte("b"), nil, &s); err != nil || s != "b" {
		t.Fatalf("binary into *string: %q, %v", s, err)
	}
	var ms myString
	if err := codec.Default.Decode("text/plain", "utf-8", []byte("m"), nil, &ms); err != nil || ms != "m" {
		t.Fatalf("into *myString: %q, %v", ms, err)
	}
	var mb myBytes
	if err := codec.Default.Decode("application/data", "binary", []byte("m"), nil, &mb); err != nil || string(mb) != "m" {
		t.Fatalf("into *myBytes: %q, %v", mb, err)
	}
	var n int
	if err := codec.Default.Decode("application/data", "binary", []byte("1"), nil, &n); !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("raw into *int: err = %v", err)
	}
	var st struct{ A int }
	if err := codec.Default.Decode("application/json", "utf-8", nil, nil, &st); !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("empty body into struct: err = %v", err)
	}
	for _, bad := range []any{nil, st, (*int)(nil)} {
		if err := codec.Default.Decode("application/json", "utf-8", []byte("1"), nil, bad); !errors.Is(err, codec.ErrDecode) {
			t.Errorf("target %#v: err = %v, want ErrDecode", bad, err)
		}
	}
}

func TestDecodeAcceptComesFirst(t *testing.T) {
	accept, err := codec.NewAccept("msgpack")
	if err != nil {
		t.Fatal(err)
	}
	// Refused before the body is looked at, and before the target is.
	err = codec.Default.Decode("application/json", "utf-8", []byte("not json"), accept, nil)
	var de *codec.DisallowedError
	if !errors.As(err, &de) || de.Reason != "untrusted" || de.Name != "json" {
		t.Fatalf("err = %v", err)
	}
	err = codec.Default.Decode("application/x-custom", "utf-8", []byte("x"), accept, new(any))
	if err == nil || err.Error() != "codec: refusing to deserialize untrusted content of type application/x-custom" {
		t.Fatalf("unregistered type: err = %v", err)
	}
	// Pickle is refused even when listed.
	withPickle, err := codec.NewAccept("pickle", "json")
	if err != nil {
		t.Fatal(err)
	}
	err = codec.Default.Decode("application/x-python-serialize", "binary", nil, withPickle, new(any))
	if !errors.As(err, &de) || de.Reason != "kelp never decodes pickle" {
		t.Fatalf("accepted pickle: err = %v", err)
	}
}
