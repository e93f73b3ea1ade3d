package codec

import (
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
)

// Brotli is Kombu's "brotli" compressor, header value
// application/x-brotli, using github.com/andybalholm/brotli. Decoding
// needs at most brotli's 16 MiB window besides the output. Create it with
// [NewBrotli]; it is safe for concurrent use.
type Brotli struct {
	quality int
	writers sync.Pool // *brotli.Writer
	readers sync.Pool // *brotli.Reader
}

// NewBrotli returns a brotli compressor at quality 0 (fastest) to 11
// (best), or [DefaultLevel], which is 6: Python's brotli.compress defaults
// to 11, a poor trade for per-message latency.
func NewBrotli(quality int) (*Brotli, error) {
	if quality != DefaultLevel && (quality < 0 || quality > 11) {
		return nil, fmt.Errorf("%w: brotli quality %d out of range 0..11", ErrInvalidCodec, quality)
	}
	if quality == DefaultLevel {
		quality = 6
	}
	return &Brotli{quality: quality}, nil
}

// Name returns "brotli".
func (*Brotli) Name() string { return "brotli" }

// ContentType returns "application/x-brotli".
func (*Brotli) ContentType() string { return "application/x-brotli" }

// Compress returns src as a brotli stream.
func (c *Brotli) Compress(src []byte) ([]byte, error) {
	return compressPooled(&c.writers, "brotli", src, func(w io.Writer) (*brotli.Writer, error) {
		return brotli.NewWriterLevel(w, c.quality), nil
	})
}

// Decompress decodes a brotli stream. See [Compressor].
func (c *Brotli) Decompress(src []byte, limit int64) ([]byte, error) {
	return decompressPooled(&c.readers, "brotli", src, limit,
		func(in io.Reader) (*brotli.Reader, error) { return brotli.NewReader(in), nil },
		(*brotli.Reader).Reset)
}
