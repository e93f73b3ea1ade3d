package codec

import (
	"bytes"
	"compress/bzip2"
	"fmt"
)

// Bzip2 is Kombu's "bzip2" compressor, alias "bzip", header value
// application/x-bz2. It decodes only: Go's standard library has no bzip2
// encoder and kelp adds no dependency for one, so Compress returns an error
// wrapping [ErrUnsupported]. The zero value is ready to use and safe for
// concurrent use.
type Bzip2 struct{}

// NewBzip2 returns a bzip2 decompressor.
func NewBzip2() *Bzip2 { return &Bzip2{} }

// Name returns "bzip2".
func (*Bzip2) Name() string { return "bzip2" }

// ContentType returns "application/x-bz2".
func (*Bzip2) ContentType() string { return "application/x-bz2" }

// Compress always fails with [ErrUnsupported].
func (*Bzip2) Compress([]byte) ([]byte, error) {
	return nil, fmt.Errorf("%w: bzip2 compression (kelp decodes bzip2 but cannot encode it; use zlib, zstd or brotli)", ErrUnsupported)
}

// Decompress decodes bzip2 data, including concatenated streams. See
// [Compressor].
func (*Bzip2) Decompress(src []byte, limit int64) ([]byte, error) {
	out, err := readLimited(bzip2.NewReader(bytes.NewReader(src)), limit, outputHint(len(src)))
	if err != nil {
		return nil, corrupt("bzip2", err)
	}
	return out, nil
}
