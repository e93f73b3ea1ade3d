package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zlib"
	"github.com/ulikunitz/xz/lzma"

	"github.com/kelpmq/kelp/codec"
)

// Compression bombs: valid streams of n MiB of zeros, built in
// milliseconds by repeating a segment instead of compressing gigabytes.
// Each builder is checked against the real decoder at a small n first.

// periodicBomb streams zeros through w one MiB at a time, flushing after
// each, and returns the stream's prefix (first MiB), the segment the
// encoder emits for every further MiB, and its closing bytes.
func periodicBomb(t testing.TB, w interface {
	io.WriteCloser
	Flush() error
}, buf *bytes.Buffer) (prefix, seg, tail []byte) {
	t.Helper()
	mib := make([]byte, 1<<20)
	flushOne := func() []byte {
		n := buf.Len()
		if _, err := w.Write(mib); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(buf.Bytes()[n:])
	}
	prefix = flushOne()
	seg = flushOne()
	if again := flushOne(); !bytes.Equal(seg, again) {
		t.Fatal("encoder output is not periodic; cannot build a bomb this way")
	}
	n := buf.Len()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return prefix, seg, bytes.Clone(buf.Bytes()[n:])
}

func zlibBomb(t testing.TB, mib int) []byte {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	prefix, seg, tail := periodicBomb(t, w, &buf)
	out := append(prefix, bytes.Repeat(seg, mib-1)...)
	out = append(out, tail[:len(tail)-4]...) // final block, then our own Adler-32
	// Adler-32 of n zero bytes: a = 1, b = n mod 65521.
	return binary.BigEndian.AppendUint32(out, uint32(uint64(mib<<20)%65521)<<16|1)
}

func brotliBomb(t testing.TB, mib int) []byte {
	var buf bytes.Buffer
	prefix, seg, tail := periodicBomb(t, brotli.NewWriterLevel(&buf, 5), &buf)
	out := append(prefix, bytes.Repeat(seg, mib-1)...)
	return append(out, tail...)
}

// zstdBomb writes one frame of RLE blocks of 128 KiB each. With declared,
// the frame is single-segment and states its content size up front;
// otherwise it has an 8 MiB window and no size, like a streaming encoder.
func zstdBomb(_ testing.TB, mib int, declared bool) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd}
	if declared {
		out = append(out, 0xa0) // 4-byte content size, single segment
		out = binary.LittleEndian.AppendUint32(out, uint32(mib<<20))
	} else {
		out = append(out, 0x00, 13<<3) // window 2^(10+13) = 8 MiB
	}
	blocks := mib * 8
	for i := range blocks {
		h := uint32(1<<1 | (128<<10)<<3) // RLE block of 128 KiB
		if i == blocks-1 {
			h |= 1 // last block
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16), 0)
	}
	return out
}

// xzBomb wraps a repeated self-contained LZMA2 chunk (2 MiB of zeros,
// resetting the dictionary) in an .xz container without integrity check.
func xzBomb(t testing.TB, mib int) []byte {
	var raw bytes.Buffer
	w, err := lzma.Writer2Config{DictCap: 1 << 12}.NewWriter2(&raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	chunk := raw.Bytes()[:raw.Len()-1] // drop the end marker
	if chunk[0] < 0xe0 || raw.Bytes()[raw.Len()-1] != 0 {
		t.Fatalf("unexpected LZMA2 output %x...", chunk[:6])
	}
	crc := func(b []byte) []byte { return binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) }

	out := []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 0}
	out = append(out, crc(out[6:8])...)
	blockStart := len(out)
	hdr := []byte{2, 0, 0x21, 1, 18, 0, 0, 0} // LZMA2, 2 MiB dictionary
	out = append(append(out, hdr...), crc(hdr)...)
	out = append(out, bytes.Repeat(chunk, mib/2)...)
	out = append(out, 0)
	unpadded := len(out) - blockStart
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	index := []byte{0, 1}
	index = appendXZVarint(appendXZVarint(index, uint64(unpadded)), uint64(mib)<<20)
	for len(index)%4 != 0 {
		index = append(index, 0)
	}
	index = append(index, crc(index)...)
	out = append(out, index...)
	footer := binary.LittleEndian.AppendUint32(nil, uint32(len(index)/4-1))
	footer = append(footer, 0, 0)
	out = append(append(out, crc(footer)...), footer...)
	return append(out, 'Y', 'Z')
}

func appendXZVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// snappyBomb is a block that declares mib MiB. Snappy's block format
// cannot expand more than about 21:1, so the only cheap bomb is the claim.
func snappyBomb(_ testing.TB, mib int) []byte {
	return binary.AppendUvarint(nil, uint64(mib)<<20)
}

var bombs = []struct {
	codec string
	build func(testing.TB, int) []byte
}{
	{"zlib", zlibBomb},
	{"brotli", brotliBomb},
	{"zstd", func(t testing.TB, mib int) []byte { return zstdBomb(t, mib, false) }},
	{"zstd", func(t testing.TB, mib int) []byte { return zstdBomb(t, mib, true) }},
	{"lzma", xzBomb},
	{"snappy", snappyBomb},
}

func TestBombBuildersAreValid(t *testing.T) {
	for _, b := range bombs {
		if b.codec == "snappy" {
			continue // a bare claim, not a valid block
		}
		out, err := mustCompressor(t, b.codec).Decompress(b.build(t, 6), 8<<20)
		if err != nil {
			t.Fatalf("%s: 6 MiB bomb does not decode: %v", b.codec, err)
		}
		if len(out) != 6<<20 || bytes.IndexFunc(out, func(r rune) bool { return r != 0 }) >= 0 {
			t.Fatalf("%s: decoded %d bytes, want 6 MiB of zeros", b.codec, len(out))
		}
	}
}

// TestBombs decompresses 1 GiB bombs under a 4 MiB limit: each must fail
// with ErrTooLarge quickly and allocate a small bounded amount.
func TestBombs(t *testing.T) {
	const (
		gib      = 1024 // MiB
		limit    = 4 << 20
		maxAlloc = 48 << 20 // limit, buffer growth, and the largest window (brotli's 16 MiB)
	)
	for _, b := range bombs {
		bomb := b.build(t, gib)
		c := mustCompressor(t, b.codec)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		out, err := c.Decompress(bomb, limit)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if !errors.Is(err, codec.ErrTooLarge) {
			t.Errorf("%s: %d-byte bomb: got %d bytes, err %v; want ErrTooLarge", b.codec, len(bomb), len(out), err)
		}
		if alloc > maxAlloc {
			t.Errorf("%s: allocated %d MiB decoding the bomb, want at most %d MiB", b.codec, alloc>>20, maxAlloc>>20)
		}
		t.Logf("%-6s bomb %8d bytes → 1 GiB: refused in %v, %.1f MiB allocated", b.codec, len(bomb), elapsed.Round(time.Microsecond), float64(alloc)/(1<<20))
	}
}
