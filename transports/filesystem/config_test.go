package filesystem_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/filesystem"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want filesystem.Config
	}{
		{"file:///tmp/q", filesystem.Config{Dir: "/tmp/q"}},
		{"filesystem:///tmp/q", filesystem.Config{Dir: "/tmp/q"}},
		{"file://localhost/tmp/q", filesystem.Config{Dir: "/tmp/q"}},
		{"file://./rel/q", filesystem.Config{Dir: "./rel/q"}},
		{"file:rel", filesystem.Config{Dir: "rel"}},
		{"file:///tmp/q?sync=false&lease_timeout=5s&poll_interval=10ms",
			filesystem.Config{Dir: "/tmp/q", NoSync: true, LeaseTimeout: 5 * time.Second, PollInterval: 10 * time.Millisecond}},
	} {
		got, err := filesystem.ParseURL(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		want      error
	}{
		{"no path", "file://", filesystem.ErrInvalidConfig},
		{"remote host", "file://example.com/tmp/q", filesystem.ErrInvalidConfig},
		{"bad sync", "file:///tmp/q?sync=maybe", filesystem.ErrInvalidConfig},
		{"bad lease", "file:///tmp/q?lease_timeout=-1s", filesystem.ErrInvalidConfig},
		{"bad poll", "file:///tmp/q?poll_interval=soon", filesystem.ErrInvalidConfig},
		{"unknown option", "file:///tmp/q?fsync=1", filesystem.ErrInvalidConfig},
		{"unparsable", "file://%zz/", transports.ErrInvalidURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := transports.OpenConnector(tc.url); !errors.Is(err, tc.want) {
				t.Errorf("OpenConnector(%q) = %v, want %v", tc.url, err, tc.want)
			}
		})
	}
	t.Run("empty config", func(t *testing.T) {
		if _, err := filesystem.NewConnector(filesystem.Config{}); !errors.Is(err, filesystem.ErrInvalidConfig) {
			t.Errorf("NewConnector(Config{}) = %v", err)
		}
	})
	t.Run("unwritable dir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes anywhere")
		}
		ro := t.TempDir()
		if err := os.Chmod(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		c := newConnector(t, filesystem.Config{Dir: filepath.Join(ro, "store")})
		_, err := c.Connect(context.Background(), transports.ConnectOptions{})
		var te *transports.Error
		if !errors.As(err, &te) || te.Code != 403 {
			t.Errorf("Connect on a read-only parent = %v, want a 403", err)
		}
	})
	t.Run("dir is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		c := newConnector(t, filesystem.Config{Dir: f})
		if _, err := c.Connect(context.Background(), transports.ConnectOptions{}); !errors.Is(err, transports.ErrConnLost) {
			t.Errorf("Connect on a file = %v, want ErrConnLost", err)
		}
	})
	t.Run("corrupt message file", func(t *testing.T) {
		dir := t.TempDir()
		ctx := context.Background()
		ch := channel(t, newConnector(t, filesystem.Config{Dir: dir}), "cq")
		for _, body := range []string{"first", "second"} {
			if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "cq", Message: transports.Message{Body: []byte(body)}}); err != nil {
				t.Fatal(err)
			}
		}
		qdir := filepath.Join(dir, "queues", "cq")
		entries, err := filepath.Glob(filepath.Join(qdir, "*.msg"))
		if err != nil || len(entries) != 2 {
			t.Fatalf("message files %v, %v", entries, err)
		}
		if err := os.WriteFile(entries[0], []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		d, ok, err := ch.Get(ctx, "cq", true)
		if err != nil || !ok || string(d.Body) != "second" {
			t.Fatalf("Get after a corrupt file = %q, %v, %v; want the next message", d.Body, ok, err)
		}
		aside, _ := os.ReadDir(filepath.Join(dir, "corrupt"))
		if len(aside) != 1 {
			t.Errorf("%d files in corrupt/, want the one that was corrupt", len(aside))
		}
	})
	t.Run("corrupt binding and exchange files", func(t *testing.T) {
		dir := t.TempDir()
		ctx := context.Background()
		ch := channel(t, newConnector(t, filesystem.Config{Dir: dir}), "bq")
		if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "bx", Kind: route.Direct}); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(ctx, "bq", "bx", "k", nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bindings", "bx", "junk.json"), []byte("]"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Publish(ctx, transports.Publishing{Exchange: "bx", RoutingKey: "k", Message: transports.Message{Body: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		if d, ok, err := ch.Get(ctx, "bq", true); err != nil || !ok || string(d.Body) != "x" {
			t.Fatalf("Get = %q, %v, %v; a junk binding file must not stop routing", d.Body, ok, err)
		}
		// Another process finds an unreadable declaration: it is unknown.
		if err := os.WriteFile(filepath.Join(dir, "exchanges", "bx.json"), []byte("nope"), 0o644); err != nil {
			t.Fatal(err)
		}
		other := channel(t, newConnector(t, filesystem.Config{Dir: dir}), "")
		_, err := other.Publish(ctx, transports.Publishing{Exchange: "bx", RoutingKey: "k"})
		if !errors.Is(err, transports.ErrNotFound) {
			t.Errorf("publish to an exchange with a corrupt declaration = %v, want 404", err)
		}
	})
}
