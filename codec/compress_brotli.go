package codec

import (
	"bytes"
	"fmt"
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
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 64)
	w, _ := c.writers.Get().(*brotli.Writer)
	if w == nil {
		w = brotli.NewWriterLevel(&buf, c.quality)
	} else {
		w.Reset(&buf)
	}
	if _, err := w.Write(src); err != nil {
		return nil, encodeErr("brotli", err)
	}
	if err := w.Close(); err != nil {
		return nil, encodeErr("brotli", err)
	}
	c.writers.Put(w)
	return buf.Bytes(), nil
}

// Decompress decodes a brotli stream. See [Compressor].
func (c *Brotli) Decompress(src []byte, limit int64) ([]byte, error) {
	in := bytes.NewReader(src)
	r, _ := c.readers.Get().(*brotli.Reader)
	if r == nil {
		r = brotli.NewReader(in)
	} else if err := r.Reset(in); err != nil {
		return nil, corrupt("brotli", err)
	}
	out, err := readLimited(r, limit, outputHint(len(src)))
	if err != nil {
		return nil, corrupt("brotli", err)
	}
	c.readers.Put(r)
	return out, nil
}
