package codec

import (
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// Zlib is Kombu's "zlib" compressor, alias "gzip": a zlib stream (RFC
// 1950) under the header value application/x-gzip. Despite the header it
// is not a gzip container; Decompress accepts one anyway (sniffed by its
// 1f 8b magic), to be lenient with peers that took the header at its word.
// Create it with [NewZlib]; it is safe for concurrent use.
type Zlib struct {
	level   int
	writers sync.Pool // *zlib.Writer
	readers sync.Pool // io.ReadCloser, also a zlib.Resetter
	gzips   sync.Pool // *gzip.Reader
}

// NewZlib returns a zlib compressor at level, from 0 (store) to 9 (best),
// or [DefaultLevel] (6, as Python's zlib.compress).
func NewZlib(level int) (*Zlib, error) {
	if level != DefaultLevel && (level < 0 || level > 9) {
		return nil, fmt.Errorf("%w: zlib level %d out of range 0..9", ErrInvalidCodec, level)
	}
	if level == DefaultLevel {
		level = 6
	}
	return &Zlib{level: level}, nil
}

// Name returns "zlib".
func (*Zlib) Name() string { return "zlib" }

// ContentType returns "application/x-gzip".
func (*Zlib) ContentType() string { return "application/x-gzip" }

// Compress returns src as a zlib stream.
func (z *Zlib) Compress(src []byte) ([]byte, error) {
	return compressPooled(&z.writers, "zlib", src, func(w io.Writer) (*zlib.Writer, error) {
		return zlib.NewWriterLevel(w, z.level)
	})
}

// Decompress inflates a zlib stream, or a gzip container. See [Compressor].
func (z *Zlib) Decompress(src []byte, limit int64) ([]byte, error) {
	if len(src) >= 2 && src[0] == 0x1f && src[1] == 0x8b {
		return decompressPooled(&z.gzips, "gzip", src, limit, gzip.NewReader,
			func(r *gzip.Reader, in io.Reader) error { return r.Reset(in) })
	}
	return decompressPooled(&z.readers, "zlib", src, limit, zlib.NewReader,
		func(r io.ReadCloser, in io.Reader) error { return r.(zlib.Resetter).Reset(in, nil) })
}
