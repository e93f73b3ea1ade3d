package filesystem_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/filesystem"
)

// TestWatchWakesWaiter: a consumer waiting on an empty queue, whose
// safety poll is an hour away, is woken by a message another Connector
// (another process, as far as the store knows) puts, and does not poll
// meanwhile: inotify, on Linux.
func TestWatchWakesWaiter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify is Linux's")
	}
	dir := t.TempDir()
	cons := newConnector(t, filesystem.Config{Dir: dir, PollInterval: time.Hour})
	ch := channel(t, cons, "watched")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "watched", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	// What is measured is the absence of activity over a stretch of time,
	// so the test sleeps through it: without inotify the consumer would
	// poll about nine times (1 ms doubling).
	time.Sleep(300 * time.Millisecond)
	idle := cons.Listings()
	if idle > 3 {
		t.Fatalf("the waiting consumer listed its queue %d times in 300 ms: it polls", idle)
	}
	start := time.Now()
	publishElsewhere(ctx, t, dir, "watched", sub)
	t.Logf("woken %v after the publish; %d listings while idle", time.Since(start), idle)
}

// TestWatchFollowsRecreatedQueue: a queue deleted and declared again while
// its consumer's Connector lives is watched again by the next waiter.
func TestWatchFollowsRecreatedQueue(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify is Linux's")
	}
	dir := t.TempDir()
	cons := newConnector(t, filesystem.Config{Dir: dir, PollInterval: time.Hour})
	ch := channel(t, cons, "again")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, ok, err := ch.Get(ctx, "again", false); ok || err != nil {
		t.Fatal(ok, err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "again", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Cancel(ctx, sub.Tag()); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(ctx, "again", transports.QueueDeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ch = channel(t, cons, "again")
	sub, err = ch.Consume(ctx, transports.ConsumeArgs{Queue: "again", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	publishElsewhere(ctx, t, dir, "again", sub)
}

// publishElsewhere publishes a message to queue through a new Connector on
// dir (another process, as far as the store knows) and waits for sub to
// deliver it.
func publishElsewhere(ctx context.Context, t *testing.T, dir, queue string, sub transports.Subscription) {
	t.Helper()
	pub := channel(t, newConnector(t, filesystem.Config{Dir: dir}), "")
	if _, err := pub.Publish(ctx, transports.Publishing{RoutingKey: queue, Message: transports.Message{Body: []byte(queue)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-sub.Deliveries():
		if string(d.Body) != queue {
			t.Fatalf("got %q", d.Body)
		}
	case <-ctx.Done():
		t.Fatalf("the message another process put in %s never woke its consumer", queue)
	}
}
