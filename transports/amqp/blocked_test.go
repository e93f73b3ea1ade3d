package amqp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

// TestBlockedKeepsLatest checks the BlockNotifier contract: the receiver
// sees the latest state, and a receiver that does not read never stalls
// the connection (amqp091's reader waits up to 5s on a full listener).
func TestBlockedKeepsLatest(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	f := newFakeBroker(t)
	ctr, err := amqp.NewConnector(amqp.Config{Host: "127.0.0.1", Port: f.port()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ctr.Connect(ctx, transports.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(t, c)
	blocked := c.(transports.BlockNotifier).Blocked()
	if blocked != c.(transports.BlockNotifier).Blocked() {
		t.Fatal("Blocked returns a different channel on each call")
	}

	f.block("low on memory")
	select {
	case b := <-blocked:
		if !b.Active || b.Reason != "low on memory" {
			t.Fatalf("got %+v", b)
		}
	case <-ctx.Done():
		t.Fatal("no blocking event")
	}

	// Many changes nobody reads; then the connection must still answer
	// promptly and the receiver see the last state.
	for i := range 200 {
		f.block(fmt.Sprint("alarm ", i))
		f.unblock()
	}
	f.block("final")
	start := time.Now()
	ch, err := c.Channel(ctx) // answered only after the reader passed every notification
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the connection stalled for %v behind unread notifications", d)
	}
	// The watcher may still be taking in what amqp091 buffered for it (8)
	// and replacing the value: read until the final state, which must come
	// after at most those few others, not all 401.
	for n := 1; ; n++ {
		var b transports.Blocking
		select {
		case b = <-blocked:
		case <-ctx.Done():
			t.Fatal("the final state never arrived")
		}
		if b.Reason == "final" && b.Active {
			if n > 10 {
				t.Fatalf("the receiver saw %d states, want only the latest", n)
			}
			break
		}
	}
	select {
	case b := <-blocked:
		t.Fatalf("stale state %+v after the latest", b)
	default:
	}
	_ = ch
}
