package filesystem_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/filesystem"
)

// The benchmarks compare the transport, through the SPI, with raw file
// operations doing the same work by hand (write a temp file and rename it
// into a directory; list, rename, read and remove), in the same directory
// tree in the same run. Messages are transient, so neither side fsyncs.
// Each reports msg/s.

var benchBody = make([]byte, 256)

func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	b.Run("kelp", func(b *testing.B) {
		ch := channel(b, newConnector(b, filesystem.Config{Dir: b.TempDir()}), "bp")
		p := transports.Publishing{RoutingKey: "bp", Message: transports.Message{Body: benchBody,
			Properties: transports.Properties{ContentType: "application/data", DeliveryMode: 1}}}
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if _, err := ch.Publish(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
	b.Run("raw-write-rename", func(b *testing.B) {
		dir, tmp := rawDirs(b)
		b.ReportAllocs()
		start := time.Now()
		i := 0
		for b.Loop() {
			rawPut(b, dir, tmp, i)
			i++
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
}

func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	b.Run("kelp", func(b *testing.B) {
		ch := channel(b, newConnector(b, filesystem.Config{Dir: b.TempDir()}), "bc")
		p := transports.Publishing{RoutingKey: "bc", Message: transports.Message{Body: benchBody, Properties: transports.Properties{DeliveryMode: 1}}}
		for range b.N {
			if _, err := ch.Publish(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 100}); err != nil {
			b.Fatal(err)
		}
		sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "bc"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			d := <-sub.Deliveries()
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
		b.StopTimer()
		_ = ch.Cancel(ctx, sub.Tag())
	})
	b.Run("raw-list-rename-read-remove", func(b *testing.B) {
		dir, tmp := rawDirs(b)
		for i := range b.N {
			rawPut(b, dir, tmp, i)
		}
		claimed := filepath.Join(dir, "claimed")
		if err := os.Mkdir(claimed, 0o755); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		var names []string
		for range b.N {
			if len(names) == 0 { // list once per batch, as the transport caches its listing
				f, err := os.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				names, _ = f.Readdirnames(-1)
				_ = f.Close()
				names = slices.DeleteFunc(names, func(n string) bool { return n == "claimed" })
				slices.Sort(names)
			}
			c := filepath.Join(claimed, names[0])
			if err := os.Rename(filepath.Join(dir, names[0]), c); err != nil {
				b.Fatal(err)
			}
			names = names[1:]
			if _, err := os.ReadFile(c); err != nil {
				b.Fatal(err)
			}
			if err := os.Remove(c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
}

func rawDirs(b *testing.B) (dir, tmp string) {
	root := b.TempDir()
	dir, tmp = filepath.Join(root, "q"), filepath.Join(root, "tmp")
	for _, d := range []string{dir, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return dir, tmp
}

// rawPut writes benchBody as message i: a temp file renamed into dir.
func rawPut(b *testing.B, dir, tmp string, i int) {
	f, err := os.CreateTemp(tmp, "w-*")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(benchBody); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("%016d.msg", i))); err != nil {
		b.Fatal(err)
	}
}
