package codec

import (
	"errors"
	"fmt"
	"io"
	"math"
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
	for {
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
