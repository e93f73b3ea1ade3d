package codec

import (
	"bytes"
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
	readers sync.Pool // io.ReadCloser that is also a zlib.Resetter
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
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 64)
	w, _ := z.writers.Get().(*zlib.Writer)
	if w == nil {
		var err error
		if w, err = zlib.NewWriterLevel(&buf, z.level); err != nil {
			return nil, encodeErr("zlib", err)
		}
	} else {
		w.Reset(&buf)
	}
	if _, err := w.Write(src); err != nil {
		return nil, encodeErr("zlib", err)
	}
	if err := w.Close(); err != nil {
		return nil, encodeErr("zlib", err)
	}
	z.writers.Put(w)
	return buf.Bytes(), nil
}

// Decompress inflates a zlib stream, or a gzip container. See [Compressor].
func (z *Zlib) Decompress(src []byte, limit int64) ([]byte, error) {
	if len(src) >= 2 && src[0] == 0x1f && src[1] == 0x8b {
		return z.gunzip(src, limit)
	}
	in := bytes.NewReader(src)
	var r io.ReadCloser
	if pooled, ok := z.readers.Get().(io.ReadCloser); ok {
		if err := pooled.(zlib.Resetter).Reset(in, nil); err != nil {
			return nil, corrupt("zlib", err)
		}
		r = pooled
	} else {
		var err error
		if r, err = zlib.NewReader(in); err != nil {
			return nil, corrupt("zlib", err)
		}
	}
	out, err := readLimited(r, limit, outputHint(len(src)))
	if err != nil {
		return nil, corrupt("zlib", err)
	}
	z.readers.Put(r)
	return out, nil
}

func (z *Zlib) gunzip(src []byte, limit int64) ([]byte, error) {
	in := bytes.NewReader(src)
	r, _ := z.gzips.Get().(*gzip.Reader)
	if r == nil {
		r = new(gzip.Reader)
	}
	if err := r.Reset(in); err != nil {
		return nil, corrupt("gzip", err)
	}
	out, err := readLimited(r, limit, outputHint(len(src)))
	if err != nil {
		return nil, corrupt("gzip", err)
	}
	z.gzips.Put(r)
	return out, nil
}
