package codec

import "fmt"

// Default is the registry of every built-in codec, Kombu's names and
// aliases included. [NewAccept] resolves names through it. It may be
// extended with RegisterSerializer and RegisterCompressor (which affects
// every user of Default in the program); [Registry.Clone] makes a private
// copy instead.
//
// Serializers: json; msgpack; raw (application/data); text (text/plain);
// pickle and yaml, which are known but refused (see [Registry.Decode]).
//
// Compressors: zlib (alias gzip), bzip2 (alias bzip, decode only), lzma
// (alias xz), brotli, zstd (alias zstandard), and kelp's snappy.
var Default = newDefault()

func newDefault() *Registry {
	r := NewRegistry()
	must := func(err error) {
		if err != nil {
			panic(fmt.Sprintf("codec: registering built-ins: %v", err))
		}
	}
	must(r.RegisterSerializer(JSON{}))
	must(r.RegisterSerializer(Msgpack{}))
	must(r.RegisterSerializer(Raw{}))
	must(r.RegisterSerializer(Text{}))
	must(r.RegisterSerializer(pickleSerializer))
	must(r.RegisterSerializer(yamlSerializer))

	zl, err := NewZlib(DefaultLevel)
	must(err)
	br, err := NewBrotli(DefaultLevel)
	must(err)
	zs, err := NewZstd(DefaultLevel)
	must(err)
	must(r.RegisterCompressor(zl, "gzip"))
	must(r.RegisterCompressor(NewBzip2(), "bzip"))
	must(r.RegisterCompressor(NewXZ(), "xz"))
	must(r.RegisterCompressor(br))
	must(r.RegisterCompressor(zs, "zstandard"))
	must(r.RegisterCompressor(NewSnappy()))
	return r
}
