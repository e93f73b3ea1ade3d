package codec_test

import (
	"strings"
	"testing"

	"github.com/kelpmq/kelp/codec"
)

type benchTask struct {
	ID     string         `json:"id"`
	Task   string         `json:"task"`
	Args   []int          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
	Retry  bool           `json:"retry"`
}

func BenchmarkSerializer(b *testing.B) {
	in := benchTask{ID: "5b0e7a6c-5d1f-4b8e-9f0a-1c2d3e4f5a6b", Task: "tasks.add", Args: []int{2, 3},
		Kwargs: map[string]any{"priority": 5, "queue": "default"}, Retry: true}
	for _, name := range []string{"json", "msgpack"} {
		s, err := codec.Default.Serializer(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				body, err := s.Encode(in)
				if err != nil {
					b.Fatal(err)
				}
				var out benchTask
				if err := s.Decode(body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompressor(b *testing.B) {
	in := []byte(strings.Repeat(`{"task": "tasks.add", "args": [2, 3]} `, 28))[:1024]
	for _, c := range codec.Default.Compressors() {
		out, err := c.Compress(in)
		if err != nil {
			out = nil // bzip2: decode only
		}
		if out != nil {
			b.Run(c.Name()+"/compress", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					if _, err := c.Compress(in); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(c.Name()+"/decompress", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					if _, err := c.Decompress(out, 1<<20); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
