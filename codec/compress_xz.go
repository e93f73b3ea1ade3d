package codec

import (
	"bytes"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// XZ is Kombu's "lzma" compressor, alias "xz", header value
// application/x-lzma: an .xz container with one LZMA2 filter, which is what
// Python's lzma.compress writes. It uses github.com/ulikunitz/xz. Create it
// with [NewXZ]; it is safe for concurrent use.
//
// Before decoding, Decompress walks the container's block and LZMA2 chunk
// headers (no decompression involved) to learn the exact output size, so an
// oversized body fails with [ErrTooLarge] at once, and it lowers each
// block's declared dictionary size to what that block's output can use, so
// a hostile header cannot make the decoder allocate gigabytes.
type XZ struct{}

// NewXZ returns an xz compressor.
func NewXZ() *XZ { return &XZ{} }

// Name returns "lzma".
func (*XZ) Name() string { return "lzma" }

// ContentType returns "application/x-lzma".
func (*XZ) ContentType() string { return "application/x-lzma" }

// maxXZDict is the encoder's dictionary size for large bodies: xz's
// default preset (6) uses 8 MiB.
const maxXZDict = 8 << 20

// Compress returns src in an .xz container.
func (*XZ) Compress(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	// A dictionary larger than the input buys nothing and costs the
	// reader, Python's included, that much memory.
	cfg := xz.WriterConfig{DictCap: min(max(len(src), lzma.MinDictCap), maxXZDict)}
	w, err := cfg.NewWriter(&buf)
	if err != nil {
		return nil, encodeErr("lzma", err)
	}
	if _, err := w.Write(src); err != nil {
		return nil, encodeErr("lzma", err)
	}
	if err := w.Close(); err != nil {
		return nil, encodeErr("lzma", err)
	}
	return buf.Bytes(), nil
}

// Decompress decodes an .xz container, including concatenated streams.
// See [XZ] and [Compressor].
func (*XZ) Decompress(src []byte, limit int64) ([]byte, error) {
	limit = effectiveLimit(limit)
	src, size, err := xzPrepare(src, limit)
	if err != nil {
		return nil, corrupt("lzma", err)
	}
	r, err := xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, corrupt("lzma", err)
	}
	out, err := readLimited(r, limit, int(size))
	if err != nil {
		return nil, corrupt("lzma", err)
	}
	return out, nil
}
