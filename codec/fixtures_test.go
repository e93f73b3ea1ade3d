package codec_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/codec"
)

// The fixtures in testdata/kombu are bodies written by Python Kombu 5.2.4
// (dumps and compress) and Python's stdlib; testdata/gen_kombu.py
// regenerates them.

type fixture struct {
	Name            string `json:"name"`
	ContentType     string `json:"content_type"`
	ContentEncoding string `json:"content_encoding"`
	Compression     string `json:"compression"`
	body            []byte
}

func loadFixtures(t *testing.T) map[string]fixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "kombu", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list []fixture
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]fixture{}
	for _, f := range list {
		if f.body, err = os.ReadFile(filepath.Join("testdata", "kombu", f.Name+".bin")); err != nil {
			t.Fatal(err)
		}
		out[f.Name] = f
	}
	return out
}

// receive does what a consumer does: decompress, then decode into *any.
func receive(f fixture, accept *codec.Accept) (any, error) {
	body, err := codec.Default.Decompress(f.Compression, f.body, 0)
	if err != nil {
		return nil, err
	}
	var v any
	err = codec.Default.Decode(f.ContentType, f.ContentEncoding, body, accept, &v)
	return v, err
}

func TestKombuFixtures(t *testing.T) {
	fixtures := loadFixtures(t)
	n := func(s string) json.Number { return json.Number(s) }
	payload := map[string]any{"payload": strings.Repeat("kelp ", 200)}
	stdlibText := strings.Repeat("stdlib ", 100)
	want := map[string]any{
		"task_json": map[string]any{
			"task": "tasks.add", "args": []any{n("2"), n("3")},
			"kwargs": map[string]any{"x": n("1.5"), "s": "h\u00e9llo \u2603"},
			"big":    n("9223372036854775809"), "neg": n("-129"), "none": nil, "ok": true,
		},
		"task_msgpack": map[string]any{
			"task": "tasks.add", "args": []any{int64(2), int64(3)},
			"kwargs": map[string]any{"x": 1.5, "s": "h\u00e9llo \u2603"},
			"big":    uint64(9223372036854775809), "neg": int64(-129), "none": nil, "ok": true,
		},
		"raw_bytes":             []byte("\x00\x01\xffraw"),
		"plain_str":             "plain str \u00e9",
		"raw_str":               "raw str \u00e9",
		"compressed_zlib":       payload,
		"compressed_gzip_alias": payload,
		"compressed_bzip2":      payload,
		"compressed_lzma":       payload,
		"compressed_brotli":     payload,
		"compressed_zstd":       payload,
		"markers": map[string]any{
			"aware":   time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.FixedZone("", 5*3600+30*60)),
			"utc":     time.Date(2024, 2, 29, 13, 14, 15, 0, time.UTC),
			"naive":   time.Date(2001, 12, 31, 23, 59, 59, 0, time.UTC),
			"date":    time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
			"time":    time.Date(0, 1, 1, 7, 8, 9, 500000000, time.UTC),
			"decimal": "3.14159",
			"uuid":    "0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b",
			"bytes":   []byte("caf\u00e9"),
			"base64":  []byte{0xff, 0xfe, 0x00},
			"nested":  []any{time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), map[string]any{"plain": n("1")}},
		},
		"stdlib_zlib_level9":      stdlibText,
		"stdlib_gzip_container":   stdlibText,
		"stdlib_bz2_two_streams":  stdlibText,
		"stdlib_xz_preset9_crc32": stdlibText,
		"stdlib_xz_two_streams":   stdlibText,
		"stdlib_xz_no_check":      stdlibText,
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			f, ok := fixtures[name]
			if !ok {
				t.Fatalf("fixture %s missing; run testdata/gen_kombu.py", name)
			}
			got, err := receive(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !equalValues(got, w) {
				t.Fatalf("decoded\n %#v\nwant\n %#v", got, w)
			}
		})
	}
	for name := range fixtures {
		if _, ok := want[name]; !ok && !strings.HasPrefix(name, "task_") && !strings.HasPrefix(name, "marker_") {
			t.Errorf("fixture %s has no expectation", name)
		}
	}
}

// equalValues is reflect.DeepEqual, except that times compare with Equal
// and must have the same UTC offset.
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		_, xo := x.Zone()
		_, yo := y.Zone()
		return ok && x.Equal(y) && xo == yo
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && all(len(x), func(i int) bool { return equalValues(x[i], y[i]) })
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && len(x) == len(y) && equalMaps(x, y)
	case map[any]any:
		y, ok := b.(map[any]any)
		return ok && len(x) == len(y) && equalMaps(x, y)
	}
	return reflect.DeepEqual(a, b)
}

func equalMaps[K comparable](x, y map[K]any) bool {
	for k, v := range x {
		if w, ok := y[k]; !ok || !equalValues(v, w) {
			return false
		}
	}
	return true
}

func all(n int, f func(int) bool) bool {
	for i := range n {
		if !f(i) {
			return false
		}
	}
	return true
}

func TestKombuFixtureRefusals(t *testing.T) {
	fixtures := loadFixtures(t)
	jsonOnly, err := codec.NewAccept("json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		fixture string
		accept  *codec.Accept
		msg     string
	}{
		{"task_pickle", nil, "codec: refusing to deserialize content of type pickle (application/x-python-serialize): kelp never decodes pickle"},
		{"task_yaml", nil, "codec: refusing to deserialize content of type yaml (application/x-yaml): kelp never decodes yaml"},
		{"task_pickle", jsonOnly, "codec: refusing to deserialize untrusted content of type pickle (application/x-python-serialize)"},
		{"task_msgpack", jsonOnly, "codec: refusing to deserialize untrusted content of type msgpack (application/x-msgpack)"},
		{"plain_str", jsonOnly, "codec: refusing to deserialize untrusted content of type text (text/plain)"},
	}
	for _, tt := range tests {
		_, err := receive(fixtures[tt.fixture], tt.accept)
		if !errors.Is(err, codec.ErrContentDisallowed) {
			t.Errorf("%s: err = %v, want ErrContentDisallowed", tt.fixture, err)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("%s: message\n %q\nwant\n %q", tt.fixture, err.Error(), tt.msg)
		}
		var de *codec.DisallowedError
		if !errors.As(err, &de) || de.ContentType != fixtures[tt.fixture].ContentType {
			t.Errorf("%s: errors.As DisallowedError = %+v", tt.fixture, de)
		}
	}
	if _, err := receive(fixtures["marker_unknown"], nil); !errors.Is(err, codec.ErrDecode) || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown marker: err = %v, want ErrDecode naming the type", err)
	}
}

func TestKombuTaskIntoStruct(t *testing.T) {
	var task struct {
		Task   string         `json:"task"`
		Args   []int          `json:"args"`
		Kwargs map[string]any `json:"kwargs"`
		Neg    int16          `json:"neg"`
		OK     bool           `json:"ok"`
	}
	for _, name := range []string{"task_json", "task_msgpack"} {
		f := loadFixtures(t)[name]
		task.Args = nil
		if err := codec.Default.Decode(f.ContentType, f.ContentEncoding, f.body, nil, &task); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if task.Task != "tasks.add" || !reflect.DeepEqual(task.Args, []int{2, 3}) || task.Neg != -129 || !task.OK {
			t.Fatalf("%s: decoded %+v", name, task)
		}
	}
}

// TestXZDictionaryIsLowered: Python's preset 9 declares a 64 MiB
// dictionary; decoding a small body must not allocate it.
func TestXZDictionaryIsLowered(t *testing.T) {
	f := loadFixtures(t)["stdlib_xz_preset9_crc32"]
	if f.body[0x10] != 28 { // dictionary byte of the first block header
		t.Fatalf("fixture dictionary byte = %d, want 28 (64 MiB)", f.body[0x10])
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := codec.Default.Decompress(f.Compression, f.body, 0)
	runtime.ReadMemStats(&after)
	if err != nil || len(out) != 700 {
		t.Fatalf("decompress: %d bytes, %v", len(out), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("allocated %d KiB for a 700-byte body", alloc>>10)
	}
	if f.body[0x10] != 28 {
		t.Fatal("Decompress modified its input")
	}
}
