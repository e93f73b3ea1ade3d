package codec

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Zstd is Kombu's "zstd" compressor, alias "zstandard", header value
// application/zstd: zstd frames, using github.com/klauspost/compress/zstd.
// Create it with [NewZstd]; it is safe for concurrent use.
//
// Compression shares one encoder (EncodeAll is safe for concurrent use).
// Decompression streams through pooled single-goroutine decoders whose
// window is capped at the larger of the limit and 8 MiB (what zstd's
// streaming encoders use by default), so a frame header cannot make the
// decoder allocate more than that.
type Zstd struct {
	level   zstd.EncoderLevel
	once    sync.Once
	enc     *zstd.Encoder
	encErr  error
	readers sync.Pool // *zstd.Decoder
}

// zstdMinWindow is the smallest window cap Decompress uses, whatever the
// limit: streaming encoders declare 8 MiB windows even for short frames.
const zstdMinWindow = 8 << 20

// NewZstd returns a zstd compressor at level, on zstd's scale of 1 to 22,
// or [DefaultLevel] (3, zstd's default). The encoder implements four
// speeds; levels map to the nearest one.
func NewZstd(level int) (*Zstd, error) {
	if level != DefaultLevel && (level < 1 || level > 22) {
		return nil, fmt.Errorf("%w: zstd level %d out of range 1..22", ErrInvalidCodec, level)
	}
	if level == DefaultLevel {
		level = 3
	}
	return &Zstd{level: zstd.EncoderLevelFromZstd(level)}, nil
}

// Name returns "zstd".
func (*Zstd) Name() string { return "zstd" }

// ContentType returns "application/zstd".
func (*Zstd) ContentType() string { return "application/zstd" }

// Compress returns src as one zstd frame, with its content size recorded.
func (c *Zstd) Compress(src []byte) ([]byte, error) {
	c.once.Do(func() {
		c.enc, c.encErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(c.level), zstd.WithEncoderConcurrency(1))
	})
	if c.encErr != nil {
		return nil, encodeErr("zstd", c.encErr)
	}
	return c.enc.EncodeAll(src, make([]byte, 0, len(src)/2+64)), nil
}

// Decompress decodes one or more concatenated zstd frames. See [Zstd] and
// [Compressor].
func (c *Zstd) Decompress(src []byte, limit int64) ([]byte, error) {
	limit = effectiveLimit(limit)
	window := uint64(max(min(limit, zstd.MaxWindowSize-1)+1, zstdMinWindow))
	opts := []zstd.DOption{zstd.WithDecoderMaxWindow(window), zstd.WithDecoderMaxMemory(window)}
	in := bytes.NewReader(src)
	d, _ := c.readers.Get().(*zstd.Decoder)
	var err error
	if d == nil {
		opts = append(opts, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		d, err = zstd.NewReader(in, opts...)
	} else {
		err = d.ResetWithOptions(in, opts...)
	}
	if err != nil {
		return nil, c.fail(err, limit)
	}
	out, err := readLimited(d, limit, outputHint(len(src)))
	_ = d.Reset(nil) // drop the reference to src
	if err != nil {
		return nil, c.fail(err, limit)
	}
	c.readers.Put(d)
	return out, nil
}

// fail maps the decoder's size errors to [ErrTooLarge].
func (*Zstd) fail(err error, limit int64) error {
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return fmt.Errorf("%w (%d bytes): %w", ErrTooLarge, limit, err)
	}
	return corrupt("zstd", err)
}
