package simple_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/simple"
)

// A kelp simple.Queue and Kombu's SimpleQueue of the same name are one
// queue, on RabbitMQ and Redis: each side gets what the other put.
func TestInteropKombu(t *testing.T) {
	brokertest.RunKombu(t, brokertest.Config{Label: "simple", RedisDB: 9}, func(t *testing.T, b *brokertest.Target) {
		c := b.Dial(t)
		name := brokertest.Unique("simple-py")
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = c.QueueDelete(ctx, name, conn.QueueDeleteOptions{})
			_ = c.ExchangeDelete(ctx, name, false)
		})
		ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
		defer cancel()
		q := mustQueue(t)(simple.NewQueue(ctx, c, name))
		python := func(args ...string) []byte {
			t.Helper()
			out, err := exec.CommandContext(ctx, brokertest.Python,
				append([]string{"testdata/kombu_simple.py", b.URL(), name}, args...)...).Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("kombu_simple.py %v: %v\n%s", args, err, stderr)
			}
			return out
		}

		python("put", "2")
		var got []string
		for range 2 {
			d, err := q.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(d.Body))
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{`{"from": "python", "n": 0}`, `{"from": "python", "n": 1}`}; !slices.Equal(got, want) {
			t.Errorf("kelp got %q, want %q", got, want)
		}

		// A queue that has called Get keeps consuming (and prefetching)
		// until Close: close it, so that Kombu is the only consumer.
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		q = mustQueue(t)(simple.NewQueue(ctx, c, name))
		for n := range 2 {
			if err := q.Put(ctx, map[string]any{"from": "kelp", "n": n}); err != nil {
				t.Fatal(err)
			}
		}
		var pyGot []map[string]any
		if out := python("get", "2"); json.Unmarshal(out, &pyGot) != nil || len(pyGot) != 2 ||
			pyGot[0]["from"] != "kelp" || pyGot[0]["n"] != 0.0 || pyGot[1]["n"] != 1.0 {
			t.Errorf("Kombu got %s", out)
		}
		wantLen(t, q, 0)
	})
}
