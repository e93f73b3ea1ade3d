package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/codec"
)

// encoders are the built-in compressors that can compress.
var encoders = []string{"zlib", "lzma", "brotli", "zstd", "snappy"}

func mustCompressor(t testing.TB, name string) codec.Compressor {
	t.Helper()
	c, err := codec.Default.Compressor(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func samples() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":      {},
		"one byte":   {42},
		"text":       []byte(strings.Repeat("kelp messaging in Go. ", 500)),
		"random":     random,
		"zeros 3MiB": make([]byte, 3<<20),
	}
}

func TestCompressRoundTrip(t *testing.T) {
	for _, name := range encoders {
		c := mustCompressor(t, name)
		for sname, in := range samples() {
			t.Run(name+"/"+sname, func(t *testing.T) {
				out, header, err := codec.Default.Compress(name, in)
				if err != nil {
					t.Fatal(err)
				}
				if header != c.ContentType() {
					t.Fatalf("header = %q, want %q", header, c.ContentType())
				}
				back, err := codec.Default.Decompress(header, out, int64(len(in)))
				if err != nil {
					t.Fatalf("decompress with exact limit: %v", err)
				}
				if !bytes.Equal(back, in) {
					t.Fatalf("round trip changed %d bytes into %d bytes", len(in), len(back))
				}
				if len(in) > 1 {
					_, err := c.Decompress(out, int64(len(in)-1))
					if !errors.Is(err, codec.ErrTooLarge) {
						t.Fatalf("limit one below size: err = %v, want ErrTooLarge", err)
					}
				}
			})
		}
	}
}

func TestCompressConcurrent(t *testing.T) {
	in := []byte(strings.Repeat("concurrent ", 1000))
	for _, name := range encoders {
		c := mustCompressor(t, name)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 20 {
					msg := append(fmt.Appendf(nil, "%d-%d:", g, i), in...)
					out, err := c.Compress(msg)
					if err == nil {
						var back []byte
						back, err = c.Decompress(out, 1<<20)
						if err == nil && !bytes.Equal(back, msg) {
							err = fmt.Errorf("%s: round trip mismatch", name)
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func TestDecompressGarbage(t *testing.T) {
	garbage := [][]byte{
		nil,
		{0},
		{0x78, 0x9c},
		[]byte("this is not compressed at all, not in any format"),
		{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4, 0xe6, 0xd6, 0xb4, 0x46},
		{0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff},
		{0x1f, 0x8b, 8, 0, 0, 0},
		{'B', 'Z', 'h', '9', 1, 2, 3},
	}
	for _, c := range codec.Default.Compressors() {
		for i, g := range garbage {
			out, err := c.Decompress(g, 1<<20)
			if c.Name() == "brotli" && len(g) == 0 {
				continue // an empty input is an empty brotli stream's prefix; either answer is fine
			}
			if err == nil {
				// A few short inputs happen to be valid (snappy: {0} is an
				// empty block); they must still decode to something sane.
				if len(out) > 1<<20 {
					t.Errorf("%s: garbage %d decoded to %d bytes", c.Name(), i, len(out))
				}
				continue
			}
			if !errors.Is(err, codec.ErrDecode) {
				t.Errorf("%s: garbage %d: err = %v, want ErrDecode", c.Name(), i, err)
			}
		}
	}
}

func TestTruncatedInputFails(t *testing.T) {
	in := []byte(strings.Repeat("truncate me ", 400))
	for _, name := range encoders {
		c := mustCompressor(t, name)
		out, err := c.Compress(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{1, len(out) / 2, len(out) - 1} {
			if _, err := c.Decompress(out[:cut], 1<<20); !errors.Is(err, codec.ErrDecode) {
				t.Errorf("%s cut at %d/%d: err = %v, want ErrDecode", name, cut, len(out), err)
			}
		}
	}
}

func TestZlibIsAZlibStreamAndReadsGzip(t *testing.T) {
	out, header, err := codec.Default.Compress("gzip", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if header != "application/x-gzip" {
		t.Fatalf("header = %q", header)
	}
	if out[0] != 0x78 {
		t.Fatalf("first byte 0x%02x: not a zlib stream (RFC 1950)", out[0])
	}
}

func TestBzip2CannotCompress(t *testing.T) {
	_, _, err := codec.Default.Compress("bzip2", []byte("x"))
	if !errors.Is(err, codec.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported wrapping errors.ErrUnsupported", err)
	}
}

func TestCompressorLookup(t *testing.T) {
	tests := []struct{ key, want string }{
		{"zlib", "zlib"}, {"gzip", "zlib"}, {"application/x-gzip", "zlib"}, {"ZLIB", "zlib"},
		{"bzip2", "bzip2"}, {"bzip", "bzip2"}, {"application/x-bz2", "bzip2"},
		{"lzma", "lzma"}, {"xz", "lzma"}, {"application/x-lzma", "lzma"},
		{"brotli", "brotli"}, {"application/x-brotli", "brotli"},
		{"zstd", "zstd"}, {"zstandard", "zstd"}, {"application/zstd", "zstd"},
		{"snappy", "snappy"}, {"application/x-snappy", "snappy"},
	}
	for _, tt := range tests {
		c, err := codec.Default.Compressor(tt.key)
		if err != nil || c.Name() != tt.want {
			t.Errorf("Compressor(%q) = %v, %v; want %s", tt.key, c, err, tt.want)
		}
	}
	if _, err := codec.Default.Compressor("lz4"); !errors.Is(err, codec.ErrUnknownCompression) {
		t.Errorf("lz4: err = %v", err)
	}
	if _, err := codec.Default.Decompress("application/x-lz4", []byte("x"), 0); !errors.Is(err, codec.ErrUnknownCompression) {
		t.Errorf("Decompress lz4: err = %v", err)
	}
}

func TestNoCompression(t *testing.T) {
	body := []byte("as is")
	out, header, err := codec.Default.Compress("", body)
	if err != nil || header != "" || !bytes.Equal(out, body) {
		t.Fatalf("Compress(\"\") = %q, %q, %v", out, header, err)
	}
	back, err := codec.Default.Decompress("", body, 1)
	if err != nil || !bytes.Equal(back, body) {
		t.Fatalf("Decompress(\"\") = %q, %v", back, err)
	}
}

func TestLevels(t *testing.T) {
	in := []byte(strings.Repeat("levels ", 1000))
	ctors := map[string]func(int) (codec.Compressor, error){
		"zlib":   func(l int) (codec.Compressor, error) { return codec.NewZlib(l) },
		"brotli": func(l int) (codec.Compressor, error) { return codec.NewBrotli(l) },
		"zstd":   func(l int) (codec.Compressor, error) { return codec.NewZstd(l) },
	}
	valid := map[string][]int{"zlib": {0, 1, 9}, "brotli": {0, 11}, "zstd": {1, 19, 22}}
	invalid := map[string][]int{"zlib": {10, -2}, "brotli": {12, -5}, "zstd": {0, 23}}
	for name, ctor := range ctors {
		for _, l := range append(valid[name], codec.DefaultLevel) {
			c, err := ctor(l)
			if err != nil {
				t.Fatalf("%s level %d: %v", name, l, err)
			}
			out, err := c.Compress(in)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := c.Decompress(out, 1<<20); err != nil || !bytes.Equal(back, in) {
				t.Fatalf("%s level %d: round trip failed: %v", name, l, err)
			}
		}
		for _, l := range invalid[name] {
			if _, err := ctor(l); !errors.Is(err, codec.ErrInvalidCodec) {
				t.Errorf("%s level %d: err = %v, want ErrInvalidCodec", name, l, err)
			}
		}
	}
}
