package virtual_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
	"github.com/kelpmq/kelp/transports/transporttest"
	"github.com/kelpmq/kelp/transports/virtual"
)

// batching is a store with the batch interfaces over the memory store (and
// without its Reserver): it makes the Broker take its asynchronous publish
// and ack paths and its batched consume pump. It records the size of
// every batch, and can be made to fail PutBatch.
type batching struct {
	virtual.Backend
	mu       sync.Mutex
	puts     []int // sizes of the PutBatch calls
	fetches  []int // sizes of the FetchBatch results
	acks     []int // sizes of the AckBatch calls
	failPuts error
	// gate, when not nil, holds every PutBatch until it is closed.
	gate chan struct{}
}

var (
	_ virtual.BatchPutter  = (*batching)(nil)
	_ virtual.BatchFetcher = (*batching)(nil)
	_ virtual.BatchAcker   = (*batching)(nil)
)

func (s *batching) PutBatch(ctx context.Context, puts []virtual.Put) error {
	s.mu.Lock()
	s.puts = append(s.puts, len(puts))
	fail, gate := s.failPuts, s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	for i := range puts {
		puts[i].Err = s.Put(ctx, puts[i].Queue, &puts[i].Envelope)
	}
	return nil
}

func (s *batching) FetchBatch(ctx context.Context, queue string, max int, wait bool, dst []virtual.Claim) ([]virtual.Claim, error) {
	c, err := s.Fetch(ctx, queue, wait)
	if err != nil {
		return dst, err
	}
	dst = append(dst, c)
	for len(dst) < max {
		c, err := s.Fetch(ctx, queue, false)
		if err != nil {
			break
		}
		dst = append(dst, c)
	}
	s.mu.Lock()
	s.fetches = append(s.fetches, len(dst))
	s.mu.Unlock()
	return dst, nil
}

func (s *batching) AckBatch(ctx context.Context, claims []*virtual.Claim) error {
	s.mu.Lock()
	s.acks = append(s.acks, len(claims))
	s.mu.Unlock()
	for _, c := range claims {
		if err := s.Ack(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func newBatching(t *testing.T) (*virtual.Broker, *batching) {
	s := &batching{Backend: memory.NewBackend()}
	b := virtual.NewBroker(s, virtual.Config{})
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, s
}

// The conformance suite over the batch paths: asynchronous publishes and
// acks, batched claims. Round robin is not claimed (no Reserver).
func TestConformanceBatchingBackend(t *testing.T) {
	brokers := map[transports.Connector]*virtual.Broker{}
	transporttest.Run(t, features(brokers), func(t *testing.T) transports.Connector {
		b, _ := newBatching(t)
		c := connector{b}
		brokers[c] = b
		return c
	})
}

// batchChannel opens a channel on a batching store with queue "q".
func batchChannel(t *testing.T) (transports.Conn, transports.Channel, *batching) {
	t.Helper()
	ctx := context.Background()
	b, s := newBatching(t)
	conn, err := b.Connect(ctx, transports.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	ch, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.NewQueue("q")); err != nil {
		t.Fatal(err)
	}
	return conn, ch, s
}

// TestPublishesQueuedMeanwhileShareOneBatch holds the store's first
// PutBatch and publishes more meanwhile: they all go in the next batch,
// and every confirmation arrives, in publish order.
func TestPublishesQueuedMeanwhileShareOneBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ch, s := batchChannel(t)
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	const n = 50
	for i := range n {
		seq, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "q", Message: transports.Message{Body: fmt.Appendf(nil, "%d", i)}})
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("publish %d: seq %d, %v", i, seq, err)
		}
	}
	close(gate)
	for i := range n {
		select {
		case cf := <-confirms:
			if cf.Seq != uint64(i+1) || !cf.Ack {
				t.Fatalf("confirmation %d: %+v", i, cf)
			}
		case <-ctx.Done():
			t.Fatalf("confirmation %d never came", i)
		}
	}
	s.mu.Lock()
	batches := append([]int(nil), s.puts...)
	s.mu.Unlock()
	// The writer may have taken the first publish alone before the
	// others were queued; everything queued while it was held goes in
	// one more batch.
	total := 0
	for _, b := range batches {
		total += b
	}
	if len(batches) > 2 || total != n {
		t.Fatalf("PutBatch sizes %v, want at most 2 batches of %d publishes in all", batches, n)
	}
	// The queue holds them in publish order, seen at once by the same
	// channel.
	for i := range n {
		d, ok, err := ch.Get(ctx, "q", true)
		if err != nil || !ok || string(d.Body) != fmt.Sprint(i) {
			t.Fatalf("get %d: %q %v %v", i, d.Body, ok, err)
		}
	}
}

// TestChannelOperationsSeeQueuedPublishes: a purge right after publishes
// that the writer has not stored yet waits for them, as on AMQP where a
// channel's commands apply in order.
func TestChannelOperationsSeeQueuedPublishes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ch, s := batchChannel(t)
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	for range 3 {
		if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "q"}); err != nil {
			t.Fatal(err)
		}
	}
	purged := make(chan int, 1)
	go func() {
		n, err := ch.QueuePurge(ctx, "q")
		if err != nil {
			t.Error(err)
		}
		purged <- n
	}()
	select {
	case n := <-purged:
		t.Fatalf("purge returned %d before the queued publishes were stored", n)
	case <-time.After(50 * time.Millisecond): // the purge must still be waiting
	}
	close(gate)
	if n := <-purged; n != 3 {
		t.Fatalf("purged %d, want 3", n)
	}
}

// TestFailedPutBatchDropsTheConnection: a store failure in the writer
// kills the connection and the publish is never confirmed.
func TestFailedPutBatchDropsTheConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, ch, s := batchChannel(t)
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("store: connection reset")
	s.mu.Lock()
	s.failPuts = broken
	s.mu.Unlock()
	if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "q"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("the connection survived a failed PutBatch")
	}
	if err := conn.Err(); !errors.Is(err, transports.ErrConnLost) || !errors.Is(err, broken) {
		t.Fatalf("conn Err %v", err)
	}
	for cf := range confirms {
		t.Fatalf("confirmation %+v after a failed store", cf)
	}
}

// TestBatchedConsumeKeepsPrefetchExact consumes with prefetch 10 from a
// full queue: claims come in batches, never more than 10 unsettled, and
// acks are settled before Close returns.
func TestBatchedConsumeKeepsPrefetchExact(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, ch, s := batchChannel(t)
	const n = 200
	for i := range n {
		if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "q", Message: transports.Message{Body: fmt.Appendf(nil, "%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 10}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var d transports.Delivery
		select {
		case d = <-sub.Deliveries():
		case <-ctx.Done():
			t.Fatalf("delivery %d never came", i)
		}
		if string(d.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d is %q", i, d.Body)
		}
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	claimed, acked := 0, 0
	for _, f := range s.fetches {
		if f > 10 {
			t.Errorf("a batch of %d claims with prefetch 10", f)
		}
		claimed += f
	}
	for _, a := range s.acks {
		acked += a
	}
	if claimed != n || acked != n {
		t.Errorf("claimed %d and acked %d of %d", claimed, acked, n)
	}
	if len(s.fetches) >= n {
		t.Errorf("%d FetchBatch calls for %d messages: no batching", len(s.fetches), n)
	}
	if l, err := s.Len(ctx, "q"); err != nil || l.Messages != 0 {
		t.Errorf("queue after consuming everything: %+v %v", l, err)
	}
}
