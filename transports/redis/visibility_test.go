package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// TestLiveClaimNotRestored holds a delivery unacked for several visibility
// timeouts while another process runs visibility restores: the live
// consumer's refresh keeps the message from being restored (no duplicate),
// and after its Conn closes the message is back in the queue exactly once.
func TestLiveClaimNotRestored(t *testing.T) {
	cfg := killConfig(testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder := newConnector(t, cfg)
	conn := dial(t, holder)
	ch, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "vis"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "vis", Message: transports.Message{Body: []byte("long job")}}); err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(ctx, "vis", false)
	if err != nil || !ok {
		t.Fatalf("Get: %v %v", ok, err)
	}
	other := newConnector(t, cfg) // another process's restorer
	dial(t, other)
	rc := rawClient(t, cfg)
	deadline := time.Now().Add(3 * cfg.VisibilityTimeout)
	for time.Now().Before(deadline) {
		if n, err := other.RestoreVisible(ctx); err != nil || n != 0 {
			t.Fatalf("restored %d live claims (%v)", n, err)
		}
		time.Sleep(200 * time.Millisecond) // letting the visibility timeout pass
	}
	if l, _ := rc.LLen(ctx, cfg.GlobalKeyPrefix+"vis").Result(); l != 0 {
		t.Fatalf("queue has %d messages while the claim is live", l)
	}
	if err := ch.Ack(ctx, d.Tag, false); err != nil {
		t.Fatal(err)
	}
	unackedEmpty(t, ctx, cfg)
}
