package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// DefaultLevel asks a compressor constructor for the algorithm's default
// level: [NewZlib], [NewBrotli] and [NewZstd] accept it.
const DefaultLevel = -1

// readLimited reads r to the end and returns what it produced, failing
// with [ErrTooLarge] as soon as more than limit bytes come out. It never
// holds a buffer larger than limit+1 bytes (while growing, the old and the
// new buffer coexist briefly). hint is the expected output size.
func readLimited(r io.Reader, limit int64, hint int) ([]byte, error) {
	limit = effectiveLimit(limit)
	most := math.MaxInt
	if limit < math.MaxInt {
		most = int(limit) + 1
	}
	buf := make([]byte, 0, min(max(hint, 512), most))
	for idle := 0; ; {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, tooLarge(limit)
			}
			next := make([]byte, len(buf), min(2*cap(buf), most))
			copy(next, buf)
			buf = next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if idle++; n > 0 {
			idle = 0
		} else if idle > 100 && err == nil {
			return nil, io.ErrNoProgress
		}
		if int64(len(buf)) > limit {
			return nil, tooLarge(limit)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// effectiveLimit maps a limit <= 0 to [DefaultMaxDecompressedSize].
func effectiveLimit(limit int64) int64 {
	if limit <= 0 {
		return DefaultMaxDecompressedSize
	}
	return limit
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
}

// outputHint guesses the decompressed size of n compressed bytes, for the
// first buffer readLimited allocates.
func outputHint(n int) int { return min(n*4, 1<<20) }

// corrupt wraps a decompression failure as [ErrDecode], keeping
// [ErrTooLarge] as it is.
func corrupt(name string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: truncated data: %w", ErrDecode, name, err)
	}
	return decodeErr(name, err)
}

// resetWriter is a compressing writer that can be reused.
type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// compressPooled compresses src with a writer from pool, or a new one from
// open, and returns the writer to pool when it succeeded.
func compressPooled[W resetWriter](pool *sync.Pool, name string, src []byte, open func(io.Writer) (W, error)) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 64)
	w, ok := pool.Get().(W)
	if ok {
		w.Reset(&buf)
	} else {
		var err error
		if w, err = open(&buf); err != nil {
			return nil, encodeErr(name, err)
		}
	}
	if _, err := w.Write(src); err != nil {
		return nil, encodeErr(name, err)
	}
	if err := w.Close(); err != nil {
		return nil, encodeErr(name, err)
	}
	pool.Put(w)
	return buf.Bytes(), nil
}

// decompressPooled decompresses src within limit with a reader from pool
// (reset onto src) or a new one from open, and returns the reader to pool
// when it succeeded.
func decompressPooled[R io.Reader](pool *sync.Pool, name string, src []byte, limit int64,
	open func(io.Reader) (R, error), reset func(R, io.Reader) error) ([]byte, error) {
	in := bytes.NewReader(src)
	r, ok := pool.Get().(R)
	var err error
	if ok {
		err = reset(r, in)
	} else {
		r, err = open(in)
	}
	if err != nil {
		return nil, corrupt(name, err)
	}
	out, err := readLimited(r, limit, outputHint(len(src)))
	if err != nil {
		return nil, corrupt(name, err)
	}
	pool.Put(r)
	return out, nil
}
