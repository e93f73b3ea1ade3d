package codec

import "github.com/golang/snappy"

// Snappy compresses with snappy's block format (not the framed stream
// format) under kelp's own header value application/x-snappy. Kombu has no
// snappy codec, so Python peers cannot read these messages: use it only
// between kelp programs. The block format records the decoded length up
// front, which Decompress checks against the limit before allocating. The
// zero value is ready to use and safe for concurrent use.
type Snappy struct{}

// NewSnappy returns a snappy compressor.
func NewSnappy() *Snappy { return &Snappy{} }

// Name returns "snappy".
func (*Snappy) Name() string { return "snappy" }

// ContentType returns "application/x-snappy".
func (*Snappy) ContentType() string { return "application/x-snappy" }

// Compress returns src as one snappy block.
func (*Snappy) Compress(src []byte) ([]byte, error) {
	return snappy.Encode(nil, src), nil
}

// Decompress decodes one snappy block. See [Compressor].
func (*Snappy) Decompress(src []byte, limit int64) ([]byte, error) {
	limit = effectiveLimit(limit)
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, corrupt("snappy", err)
	}
	if int64(n) > limit {
		return nil, tooLarge(limit)
	}
	out, err := snappy.Decode(make([]byte, n), src)
	if err != nil {
		return nil, corrupt("snappy", err)
	}
	return out, nil
}
