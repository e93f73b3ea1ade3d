package codec

import "strings"

// Serializer turns values into message bodies and back. It is keyed in a
// [Registry] by its name and by its content type.
//
// Implementations must be safe for concurrent use by multiple goroutines.
// Encode must not retain v; the returned slice belongs to the caller.
// Decode must not retain data after it returns (drivers may reuse the
// buffer); v is a non-nil pointer.
type Serializer interface {
	// Name is the short name, as in Kombu: "json".
	Name() string
	// ContentType is the MIME type carried by the message: "application/json".
	ContentType() string
	// ContentEncoding is the content encoding carried by the message:
	// "utf-8" for text formats, "binary" otherwise.
	ContentEncoding() string
	// Encode serializes v. Errors wrap [ErrEncode] (or [ErrUnsupported]).
	Encode(v any) ([]byte, error)
	// Decode deserializes data into the value v points to. Errors wrap
	// [ErrDecode], or [ErrContentDisallowed] for formats kelp refuses.
	Decode(data []byte, v any) error
}

// Compressor compresses message bodies. It is keyed in a [Registry] by its
// name and by its content type, which is the value of the message's
// `compression` header.
//
// Implementations must be safe for concurrent use by multiple goroutines and
// must not retain src. The returned slice belongs to the caller.
type Compressor interface {
	// Name is the short name, as in Kombu: "zlib".
	Name() string
	// ContentType is the `compression` header value: "application/x-gzip".
	ContentType() string
	// Compress compresses src. Errors wrap [ErrEncode], or [ErrUnsupported]
	// for decode-only algorithms (bzip2).
	Compress(src []byte) ([]byte, error)
	// Decompress decompresses src. If the output would exceed limit bytes
	// it returns an error wrapping [ErrTooLarge], having allocated not much
	// more than limit bytes. Corrupt input returns an error wrapping
	// [ErrDecode]; no input makes it panic. A limit <= 0 means
	// [DefaultMaxDecompressedSize].
	Decompress(src []byte, limit int64) ([]byte, error)
}

// DefaultMaxDecompressedSize is the decompressed-size limit used when a
// caller passes a limit <= 0. RabbitMQ refuses bodies over 16 MiB by default
// (max_message_size, since 4.0), so 64 MiB admits a default-sized body at a
// 4:1 compression ratio, far above typical messages, while prefetch × limit
// stays within a normal process's memory when every delivery is hostile.
const DefaultMaxDecompressedSize = 64 << 20

// Content types and encodings that have meaning to the decode rules.
const (
	// ContentTypeData is the raw bytes content type, assumed when a message
	// has none. It is always trusted.
	ContentTypeData = "application/data"
	// ContentTypeText is the second content type Kombu always trusts. No
	// serializer produces it.
	ContentTypeText = "application/text"
	// EncodingBinary is the content encoding of non-text bodies.
	EncodingBinary = "binary"
	// EncodingUTF8 is the content encoding of text bodies.
	EncodingUTF8 = "utf-8"
)

// normType normalizes a content type for lookups and comparisons: ASCII
// lower case, surrounding space trimmed, and MIME parameters (";
// charset=...") dropped. Kombu compares content types exactly; kelp is
// lenient here because MIME types are case-insensitive and some producers
// add parameters.
func normType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
}
