package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The .xz format (https://tukaani.org/xz/xz-file-format.txt), as far as
// xzPrepare needs it.
var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

const (
	xzHeaderLen = 12   // stream header and stream footer
	xzLZMA2     = 0x21 // the LZMA2 filter id
)

var errXZFormat = errors.New("malformed xz container")

// xzPrepare walks src's streams, blocks and LZMA2 chunk headers without
// decompressing. It returns the total decompressed size, failing with
// [ErrTooLarge] when that exceeds limit, and a copy of src in which every
// block's dictionary size is lowered to the smallest valid one that holds
// the block's output (src itself if nothing needed lowering). The decoder
// then allocates at most that much for its dictionary.
//
// It is not a validator: checksums and the index are left to the decoder.
// Where the walk cannot follow the data it returns an error, since the
// decoder could not either.
func xzPrepare(src []byte, limit int64) ([]byte, int64, error) {
	w := xzWalker{b: src, limit: limit}
	for {
		if err := w.stream(); err != nil {
			return nil, 0, err
		}
		// Stream padding: zero bytes, a multiple of four, before the next
		// stream or the end.
		start := w.off
		for w.off < len(w.b) && w.b[w.off] == 0 {
			w.off++
		}
		if (w.off-start)%4 != 0 {
			return nil, 0, fmt.Errorf("%w: stream padding", errXZFormat)
		}
		if w.off == len(w.b) {
			return w.b, w.total, nil
		}
	}
}

type xzWalker struct {
	b       []byte
	off     int
	total   int64 // decompressed bytes so far
	limit   int64
	patched bool // b is a private copy
}

func (w *xzWalker) need(n int) error {
	if n < 0 || n > len(w.b)-w.off {
		return fmt.Errorf("%w: truncated", errXZFormat)
	}
	return nil
}

// varint reads an xz multibyte integer (at most 9 bytes, 7 bits each).
func (w *xzWalker) varint() (uint64, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		if err := w.need(1); err != nil {
			return 0, err
		}
		c := w.b[w.off]
		w.off++
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, fmt.Errorf("%w: non-minimal integer", errXZFormat)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: integer too long", errXZFormat)
}

func (w *xzWalker) stream() error {
	if err := w.need(xzHeaderLen); err != nil {
		return err
	}
	h := w.b[w.off : w.off+xzHeaderLen]
	if !bytes.Equal(h[:6], xzMagic) || h[6] != 0 || h[7] > 0x0f {
		return fmt.Errorf("%w: bad stream header", errXZFormat)
	}
	checkLen := 0
	if id := int(h[7]); id > 0 {
		checkLen = 4 << ((id - 1) / 3)
	}
	w.off += xzHeaderLen
	for {
		if err := w.need(1); err != nil {
			return err
		}
		if w.b[w.off] == 0 { // index indicator
			if err := w.index(); err != nil {
				return err
			}
			if err := w.need(xzHeaderLen); err != nil {
				return err
			}
			w.off += xzHeaderLen // stream footer, checked by the decoder
			return nil
		}
		if err := w.block(checkLen); err != nil {
			return err
		}
	}
}

func (w *xzWalker) block(checkLen int) error {
	start := w.off
	hlen := (int(w.b[w.off]) + 1) * 4
	if err := w.need(hlen); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(w.b[start:start+hlen-4]) != binary.LittleEndian.Uint32(w.b[start+hlen-4:]) {
		return fmt.Errorf("%w: block header checksum mismatch", errXZFormat)
	}
	flags := w.b[w.off+1]
	if flags&0x3c != 0 || flags&0x03 != 0 {
		// Reserved bits, or more than one filter: kelp's decoder only
		// knows a lone LZMA2 filter, as Python's lzma.compress writes.
		return fmt.Errorf("%w: unsupported block flags 0x%02x (only a single LZMA2 filter is supported)", errXZFormat, flags)
	}
	w.off += 2
	if flags&0x40 != 0 { // compressed size
		if _, err := w.varint(); err != nil {
			return err
		}
	}
	if flags&0x80 != 0 { // uncompressed size
		if _, err := w.varint(); err != nil {
			return err
		}
	}
	id, err := w.varint()
	if err != nil {
		return err
	}
	psize, err := w.varint()
	if err != nil {
		return err
	}
	if id != xzLZMA2 || psize != 1 {
		return fmt.Errorf("%w: unsupported filter 0x%x", errXZFormat, id)
	}
	dictAt := w.off
	if dictAt >= start+hlen-4 {
		return fmt.Errorf("%w: block header too short", errXZFormat)
	}
	declared := w.b[dictAt]
	if declared > 40 {
		return fmt.Errorf("%w: bad dictionary size", errXZFormat)
	}
	w.off = start + hlen
	produced, err := w.chunks()
	if err != nil {
		return err
	}
	if lower := xzDictByte(max(produced, 1<<12)); lower < declared {
		w.patch(start, hlen, dictAt, lower)
	}
	// Block padding to a multiple of four, then the check.
	pad := (4 - (w.off-start)%4) % 4
	if err := w.need(pad + checkLen); err != nil {
		return err
	}
	w.off += pad + checkLen
	return nil
}

// chunks walks LZMA2 chunk headers up to the end marker and returns the
// block's decompressed size.
func (w *xzWalker) chunks() (int64, error) {
	var produced int64
	for {
		if err := w.need(1); err != nil {
			return 0, err
		}
		c := w.b[w.off]
		w.off++
		var unpacked, packed int
		switch {
		case c == 0x00:
			return produced, nil
		case c == 0x01 || c == 0x02: // stored chunk
			if err := w.need(2); err != nil {
				return 0, err
			}
			unpacked = int(binary.BigEndian.Uint16(w.b[w.off:])) + 1
			packed = unpacked
			w.off += 2
		case c >= 0x80: // LZMA chunk
			hdr := 4
			if (c>>5)&3 >= 2 { // new properties byte follows
				hdr = 5
			}
			if err := w.need(hdr); err != nil {
				return 0, err
			}
			unpacked = int(c&0x1f)<<16 + int(binary.BigEndian.Uint16(w.b[w.off:])) + 1
			packed = int(binary.BigEndian.Uint16(w.b[w.off+2:])) + 1
			w.off += hdr
		default:
			return 0, fmt.Errorf("%w: bad LZMA2 control byte 0x%02x", errXZFormat, c)
		}
		if err := w.need(packed); err != nil {
			return 0, err
		}
		w.off += packed
		produced += int64(unpacked)
		w.total += int64(unpacked)
		if w.total > w.limit {
			return 0, tooLarge(w.limit)
		}
	}
}

// index skips the stream index: indicator, record count, records, padding
// and CRC32.
func (w *xzWalker) index() error {
	start := w.off
	w.off++
	n, err := w.varint()
	if err != nil {
		return err
	}
	if n > uint64(len(w.b)-w.off)/2 { // a record is at least two bytes
		return fmt.Errorf("%w: index record count", errXZFormat)
	}
	for range 2 * n {
		if _, err := w.varint(); err != nil {
			return err
		}
	}
	pad := (4 - (w.off-start)%4) % 4
	if err := w.need(pad + 4); err != nil {
		return err
	}
	w.off += pad + 4
	return nil
}

// patch sets the dictionary byte of the block header at start and fixes
// the header's CRC32, on a private copy of the input.
func (w *xzWalker) patch(start, hlen, dictAt int, dict byte) {
	if !w.patched {
		w.b = bytes.Clone(w.b)
		w.patched = true
	}
	w.b[dictAt] = dict
	crc := crc32.ChecksumIEEE(w.b[start : start+hlen-4])
	binary.LittleEndian.PutUint32(w.b[start+hlen-4:], crc)
}

// xzDictSize is the dictionary size an LZMA2 dictionary byte (0..40) stands for.
func xzDictSize(b byte) int64 {
	if b == 40 {
		return 1<<32 - 1
	}
	return int64(2|b&1) << (b/2 + 11)
}

// xzDictByte is the smallest dictionary byte whose size is at least n.
func xzDictByte(n int64) byte {
	for b := byte(0); b < 40; b++ {
		if xzDictSize(b) >= n {
			return b
		}
	}
	return 40
}
