package filesystem

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// Directories under the root (see the package documentation).
const (
	dirQueues    = "queues"
	dirClaimed   = "claimed" // inside a queue's directory
	dirTmp       = "tmp"
	dirLeases    = "leases"
	dirBindings  = "bindings"
	dirExchanges = "exchanges"
	dirTrash     = "trash"
	dirCorrupt   = "corrupt"
	fileOptions  = "options.json"
	msgSuffix    = ".msg"
)

// Kinds of ready file name: a requeued message sorts before a new one of
// its priority.
const (
	kindRequeued = 'a'
	kindNew      = 'b'
)

// maxEscaped bounds an escaped name, well under NAME_MAX (255 bytes) with
// room for suffixes.
const maxEscaped = 180

// escape maps a queue or exchange name to a file name: ASCII letters,
// digits, '-', '_' and '.' (except a leading one) stay, every other byte
// becomes %XX. Names whose escape is too long keep a prefix and add a hash
// of the whole name. The empty name is "%".
func escape(name string) string {
	if name == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	s := b.String()
	if len(s) > maxEscaped {
		sum := sha256.Sum256([]byte(name))
		s = s[:maxEscaped-33] + "~" + hex.EncodeToString(sum[:16])
	}
	return s
}

// stamps makes strictly increasing stamps in this process: nanoseconds
// since the epoch, bumped past the previous one.
type stamps struct{ last atomic.Int64 }

func (s *stamps) next(now int64) int64 {
	for {
		last := s.last.Load()
		v := max(now, last+1)
		if s.last.CompareAndSwap(last, v) {
			return v
		}
	}
}

// readyName is the file name of a ready message: it sorts by priority
// (highest first), then requeued before new, then by stamp (a requeued
// message's stamp is inverted, so the latest requeue comes first), and
// records the body size for Len.
func readyName(prio uint8, kind byte, stamp int64, bodyLen int) string {
	if kind == kindRequeued {
		stamp = 1<<62 - stamp
	}
	return fmt.Sprintf("%02x-%c%016x-%s-%d%s", 255-int(prio), kind, uint64(stamp), randomHex(4), bodyLen, msgSuffix)
}

// bodyLenOf returns the body size recorded in a ready name, and false for
// a name readyName did not make.
func bodyLenOf(name string) (int64, bool) {
	base, ok := strings.CutSuffix(name, msgSuffix)
	if !ok {
		return 0, false
	}
	i := strings.LastIndexByte(base, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(base[i+1:], 10, 64)
	return n, err == nil && n >= 0
}

// claimName is the name of a claim of ready file name by owner.
func claimName(name, owner string) string {
	return strings.TrimSuffix(name, msgSuffix) + "." + owner
}

// ownerOf returns the owner recorded in a claim's file name.
func ownerOf(claim string) string {
	return claim[strings.LastIndexByte(claim, '.')+1:]
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeFileAtomic writes data to path through a temporary file in tmpDir
// (same filesystem) and a rename, so readers see the whole file or none.
// With sync the file is fsynced before the rename and path's directory
// after it. A missing target directory gives an error matching
// fs.ErrNotExist.
func writeFileAtomic(tmpDir, path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(tmpDir, "w-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if sync {
		return syncDir(filepath.Dir(path))
	}
	return nil
}

// syncDir fsyncs a directory, making the renames into it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// notExist reports an error that says a file or directory is missing.
func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
