package broadcast_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/broadcast"
	"github.com/kelpmq/kelp/internal/brokertest"
)

// A kelp broadcast and Kombu's Broadcast of the same name share messages,
// on RabbitMQ and Redis: a Kombu subscriber gets what kelp publishes, a
// kelp subscriber what Kombu publishes, and each subscriber gets a copy.
func TestInteropKombu(t *testing.T) {
	brokertest.RunKombu(t, brokertest.Config{Label: "bcast", RedisDB: 11}, func(t *testing.T, b *brokertest.Target) {
		c := b.Dial(t)
		bname := brokertest.Unique("bcast-py")
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.ExchangeDelete(ctx, bname, false)
		})
		bc, err := broadcast.New(c, bname)
		if err != nil {
			t.Fatal(err)
		}
		sub := subscribe(t, bc)

		ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
		defer cancel()
		py := brokertest.StartPeer(t, ctx, "testdata/kombu_broadcast.py", b.URL(), bname, "subscribe", "2")

		for n := range 2 {
			if err := bc.Publish(ctx, map[string]any{"from": "kelp", "n": n}); err != nil {
				t.Fatal(err)
			}
		}
		line := py.Line(t)
		var got []map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil || len(got) != 2 ||
			got[0]["from"] != "kelp" || got[0]["n"] != 0.0 || got[1]["n"] != 1.0 {
			t.Errorf("the Kombu subscriber got %s (%v)", line, err)
		}

		if out, err := exec.CommandContext(ctx, brokertest.Python, "testdata/kombu_broadcast.py",
			b.URL(), bname, "publish", "2").CombinedOutput(); err != nil {
			t.Fatalf("kombu publisher: %v\n%s", err, out)
		}
		var bodies []string
		for range 4 {
			bodies = append(bodies, receive(t, sub))
		}
		want := []string{`{"from":"kelp","n":0}`, `{"from":"kelp","n":1}`,
			`{"from": "python", "n": 0}`, `{"from": "python", "n": 1}`}
		if !slices.Equal(bodies, want) {
			t.Errorf("the kelp subscriber got %q, want %q", bodies, want)
		}
	})
}
