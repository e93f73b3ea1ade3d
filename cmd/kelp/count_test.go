package main

import (
	"slices"
	"testing"

	"github.com/kelpmq/kelp/internal/brokertest"
)

// "kelp consume --count N" takes exactly N messages, on every broker: the
// rest of the queue is left untouched, none of it marked redelivered.
func TestConsumeCountTakesExactlyN(t *testing.T) {
	brokertest.Run(t, brokertest.Config{Label: "cli", RedisDB: 13}, func(t *testing.T, b *brokertest.Target) {
		url := b.URL()
		q := b.Queue(t, "count").Name
		// Declared by a first consume that finds nothing.
		kelp(t, "", "consume", "--url", url, "--queue", q, "--timeout", "1ms").wantOK(t)
		kelp(t, "a\nb\nc\nd\ne\n", "publish", "--url", url, "--routing-key", q, "--serializer", "text", "-").wantOK(t)

		var bodies []string
		for _, n := range []string{"2", "3"} {
			r := kelp(t, "", "consume", "--url", url, "--queue", q, "--count", n, "--timeout", "10s")
			r.wantOK(t)
			for _, rec := range records(t, r.stdout) {
				bodies = append(bodies, rec["body"].(string))
				if field(rec, "delivery_info", "redelivered") != false {
					t.Errorf("consume --count %s: %v was redelivered", n, rec["body"])
				}
			}
		}
		if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(bodies, want) {
			t.Errorf("consumed %q, want %q", bodies, want)
		}
		kelp(t, "", "consume", "--url", url, "--queue", q, "--count", "1", "--timeout", "100ms").
			wantFailure(t, exitFailure, "received 0 of 1 message")
	})
}
