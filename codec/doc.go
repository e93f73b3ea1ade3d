// Package codec turns message values into bodies and back: serializers
// keyed by content type, compressors keyed by the `compression` header,
// accept lists, and a limit on decompressed size. It speaks Kombu's names,
// content types and header values, so bodies cross between kelp and Python
// Kombu (and Celery) peers. It is a leaf package: conn calls it; drivers
// never do.
//
// # Serializers
//
// A [Serializer] has a name and a content type. The built-ins, all in
// [Default]:
//
//	name     content type                     encoding  notes
//	json     application/json                 utf-8     Kombu's default; reads Kombu 5.3 type markers
//	msgpack  application/x-msgpack            binary    str and bin as Kombu's use_bin_type
//	raw      application/data                 binary    []byte or string as is
//	text     text/plain                       utf-8     strings
//	yaml     application/x-yaml               utf-8     known, never decoded
//	pickle   application/x-python-serialize   binary    known, never decoded
//
// [JSON], [Msgpack], [Raw] and [Text] document how each maps Go values.
//
// [Registry.Encode] picks the content type and encoding to send;
// [Registry.Decode] applies Kombu's loads rules: missing content type means
// application/data, the accept check comes first, a type without a
// serializer decodes to text or bytes by its content encoding.
//
// # Accept lists
//
// An [Accept] lists the content types a consumer agrees to decode;
// application/data and application/text are always allowed. A nil *Accept
// allows everything: kelp's default, broader than Kombu's (which refuses
// msgpack unless enabled), because kelp refuses pickle and yaml on its own
// and decoding msgpack in Go runs no code. A refusal is a
// [*DisallowedError] matching [ErrContentDisallowed]; the consumer should
// reject such a message rather than retry it.
//
// # Compressors
//
// A [Compressor] has a name and a content type, which is the value of the
// message header `compression`; compression applies after serialization.
//
//	name    aliases    header                  notes
//	zlib    gzip       application/x-gzip      a zlib stream, not gzip
//	bzip2   bzip       application/x-bz2       decode only
//	lzma    xz         application/x-lzma      .xz container
//	brotli             application/x-brotli
//	zstd    zstandard  application/zstd
//	snappy             application/x-snappy    kelp only: Python peers cannot read it
//
// See [Zlib], [Bzip2], [XZ], [Brotli], [Zstd] and [Snappy]; [NewZlib],
// [NewBrotli] and [NewZstd] take a level, for registering a tuned copy in a
// [Registry.Clone] of [Default].
//
// # Size limits
//
// [Registry.Decompress] and [Compressor.Decompress] take a limit on the
// decompressed size ([DefaultMaxDecompressedSize] when the caller passes 0).
// Output beyond it fails with [ErrTooLarge] and is never allocated: every
// decompressor stops reading at limit+1 bytes, and the formats that declare
// sizes or windows up front (snappy, xz, zstd) are checked before decoding
// starts. A compression bomb therefore costs about limit bytes of memory,
// not its expanded size. Nested JSON and msgpack documents are capped at
// 10000 levels, so no input can exhaust the stack.
//
// # Concurrency and ownership
//
// Everything here is safe for concurrent use. A [Registry] serves lookups
// from an immutable snapshot, without locks; registration swaps the
// snapshot. An [Accept] is immutable. Codecs never retain the slices they
// are given, and the slices they return belong to the caller. A Decode
// target receives copies, so a driver may reuse the body buffer
// afterwards. No goroutines are started.
//
// # Errors
//
// Errors match a sentinel with [errors.Is] and wrap their cause:
// [ErrContentDisallowed], [ErrUnknownSerializer], [ErrUnknownCompression],
// [ErrDecode] (bodies that cannot be deserialized or decompressed),
// [ErrEncode], [ErrTooLarge], [ErrUnsupported] (which matches
// errors.ErrUnsupported) and [ErrInvalidCodec]. Nothing in this package
// panics on input bytes.
package codec
