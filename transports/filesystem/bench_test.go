package filesystem_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kelpmq/kelp/internal/benchcmp"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/filesystem"
)

// The benchmarks compare the transport, through the SPI, with raw file
// operations doing the same work by hand (write a temp file, fsync it when
// the message is persistent, and rename it into a directory; list, rename,
// read and remove), in alternating blocks of one benchmark (package
// benchcmp), which reports kelp-msg/s, raw-msg/s and their ratio.

var benchBody = make([]byte, 256)

func benchPublishing(mode route.DeliveryMode) transports.Publishing {
	return transports.Publishing{RoutingKey: "bench", Message: transports.Message{Body: benchBody,
		Properties: transports.Properties{ContentType: "application/data", DeliveryMode: mode}}}
}

// rawQueue is the raw side: a directory of message files and one for
// writing them.
type rawQueue struct {
	dir, tmp string
	i        int
	names    []string
}

func newRawQueue(b *testing.B) *rawQueue {
	root := b.TempDir()
	r := &rawQueue{dir: filepath.Join(root, "q"), tmp: filepath.Join(root, "tmp")}
	for _, d := range []string{r.dir, r.tmp, filepath.Join(r.dir, "claimed")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// put writes benchBody as the next message: a temp file (fsynced with the
// directory when sync) renamed into the queue.
func (r *rawQueue) put(b *testing.B, sync bool) {
	f, err := os.CreateTemp(r.tmp, "w-*")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(benchBody); err != nil {
		b.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(f.Name(), filepath.Join(r.dir, fmt.Sprintf("%016d.msg", r.i))); err != nil {
		b.Fatal(err)
	}
	r.i++
	if sync {
		d, err := os.Open(r.dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Sync(); err != nil {
			b.Fatal(err)
		}
		_ = d.Close()
	}
}

// take claims the first message by renaming it, reads and removes it,
// listing the directory once per batch as the transport caches its
// listing.
func (r *rawQueue) take(b *testing.B) {
	if len(r.names) == 0 {
		f, err := os.Open(r.dir)
		if err != nil {
			b.Fatal(err)
		}
		r.names, _ = f.Readdirnames(-1)
		_ = f.Close()
		r.names = slices.DeleteFunc(r.names, func(n string) bool { return n == "claimed" })
		slices.Sort(r.names)
	}
	c := filepath.Join(r.dir, "claimed", r.names[0])
	if err := os.Rename(filepath.Join(r.dir, r.names[0]), c); err != nil {
		b.Fatal(err)
	}
	r.names = r.names[1:]
	if _, err := os.ReadFile(c); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(c); err != nil {
		b.Fatal(err)
	}
}

func kelpPublish(b *testing.B, ch transports.Channel, p transports.Publishing, n int) {
	for range n {
		if _, err := ch.Publish(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish: transient messages (no fsync on either side) and
// persistent ones (file and directory fsynced).
func BenchmarkPublish(b *testing.B) {
	for _, mode := range []route.DeliveryMode{route.Transient, route.Persistent} {
		b.Run(map[route.DeliveryMode]string{route.Transient: "transient", route.Persistent: "persistent"}[mode], func(b *testing.B) {
			ch := channel(b, newConnector(b, filesystem.Config{Dir: b.TempDir()}), "bench")
			r := newRawQueue(b)
			p := benchPublishing(mode)
			benchcmp.Compare(b, func(n int) { kelpPublish(b, ch, p, n) }, func(n int) {
				for range n {
					r.put(b, mode == route.Persistent)
				}
			})
		})
	}
}

// BenchmarkConsume: a queue of b.N messages consumed with an ack each
// (kelp: Consume with prefetch consumePrefetch).
func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	ch := channel(b, newConnector(b, filesystem.Config{Dir: b.TempDir()}), "bench")
	r := newRawQueue(b)
	kelpPublish(b, ch, benchPublishing(route.Transient), b.N)
	for range b.N {
		r.put(b, false)
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: consumePrefetch}); err != nil {
		b.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ch.Cancel(ctx, sub.Tag()) }()
	benchcmp.CompareBlocks(b, consumeBlock, func(n int) {
		for range n {
			d := <-sub.Deliveries()
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
	}, func(n int) {
		for range n {
			r.take(b)
		}
	})
}

// The consumer's prefetch window in BenchmarkConsume, and the turns of its
// comparison: ten windows, so that what the consumer claims ahead while the
// raw side has its turn weighs at most a tenth.
const (
	consumePrefetch = 20
	consumeBlock    = 10 * consumePrefetch
)
