package virtual_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
	"github.com/kelpmq/kelp/transports/virtual"
)

// bcastStore broadcasts fanout exchanges as a PUB/SUB store does: a
// broadcast reaches the queues with a live subscription, once per
// subscribed queue, and nothing else.
type bcastStore struct {
	virtual.Backend
	decline bool  // Broadcast reports false
	failB   error // Broadcast fails
	failS   error // Subscribe fails

	mu       sync.Mutex
	subs     map[string]int // queue -> live subscriptions
	sent     []string       // exchanges broadcast to
	released int
}

func (s *bcastStore) Broadcast(ctx context.Context, exchange string, env *virtual.Envelope) (bool, error) {
	if s.failB != nil {
		return false, s.failB
	}
	if s.decline {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, exchange)
	for q, n := range s.subs {
		if n > 0 {
			e := *env
			if err := s.Backend.Put(ctx, q, &e); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

func (s *bcastStore) Subscribe(_ context.Context, queue string) (func(), error) {
	if s.failS != nil {
		return nil, s.failS
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[queue]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.subs[queue]--
		s.released++
	}, nil
}

func (s *bcastStore) broadcasts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// bcastChannel returns a channel on a Broker over st, with a fanout
// exchange "fx" bound to queues "a" and "b" and a direct exchange "dx"
// bound to "a".
func bcastChannel(t *testing.T, st *bcastStore) transports.Channel {
	t.Helper()
	ctx := context.Background()
	st.Backend = memory.NewBackend()
	st.subs = make(map[string]int)
	b := virtual.NewBroker(st, virtual.Config{})
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	conn, err := b.Connect(ctx, transports.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []route.Exchange{{Name: "fx", Kind: route.Fanout}, {Name: "dx", Kind: route.Direct}} {
		if err := ch.ExchangeDeclare(ctx, ex); err != nil {
			t.Fatal(err)
		}
	}
	for _, bd := range []struct{ q, ex, key string }{{"a", "fx", ""}, {"b", "fx", ""}, {"a", "dx", "k"}} {
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: bd.q}); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(ctx, bd.q, bd.ex, bd.key, nil); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}

func publishTo(t *testing.T, ch transports.Channel, ex, key, body string) error {
	t.Helper()
	_, err := ch.Publish(context.Background(), transports.Publishing{Exchange: ex, RoutingKey: key,
		Message: transports.Message{Body: []byte(body)}})
	return err
}

func ready(t *testing.T, ch transports.Channel, q string) int {
	t.Helper()
	info, err := ch.QueueDeclare(context.Background(), route.Queue{Name: q, Passive: true})
	if err != nil {
		t.Fatal(err)
	}
	return info.Messages
}

func TestBroadcasterPublish(t *testing.T) {
	for _, tc := range []struct {
		name         string
		decline      bool
		ex, key      string
		wantSent     []string
		wantA, wantB int // messages the Broker stored (no subscribers here)
	}{
		{"fanout is broadcast once, not stored", false, "fx", "rk", []string{"fx"}, 0, 0},
		{"direct is stored", false, "dx", "k", nil, 1, 0},
		{"default exchange is stored", false, "", "b", nil, 0, 1},
		{"a declined broadcast is stored in each bound queue", true, "fx", "", nil, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &bcastStore{decline: tc.decline}
			ch := bcastChannel(t, st)
			if err := publishTo(t, ch, tc.ex, tc.key, "m"); err != nil {
				t.Fatal(err)
			}
			if got := st.broadcasts(); !slices.Equal(got, tc.wantSent) {
				t.Errorf("broadcasts %v, want %v", got, tc.wantSent)
			}
			if a, b := ready(t, ch, "a"), ready(t, ch, "b"); a != tc.wantA || b != tc.wantB {
				t.Errorf("queues hold a=%d b=%d, want %d %d", a, b, tc.wantA, tc.wantB)
			}
		})
	}
}

func TestBroadcasterPublishFails(t *testing.T) {
	st := &bcastStore{failB: errors.New("pubsub down")}
	ch := bcastChannel(t, st)
	if err := publishTo(t, ch, "fx", "", "m"); !errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("Publish: %v, want ErrConnLost", err)
	}
}

func TestBroadcasterSubscribe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := &bcastStore{}
	ch := bcastChannel(t, st)
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "a", Tag: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	// The subscription is live when Consume returns.
	if err := publishTo(t, ch, "fx", "", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-sub.Deliveries():
		if string(d.Body) != "hello" || d.Exchange != "fx" {
			t.Fatalf("got %q from %q", d.Body, d.Exchange)
		}
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no broadcast delivered")
	}
	if n := ready(t, ch, "b"); n != 0 {
		t.Errorf("queue b (not consumed) holds %d, want 0", n)
	}
	if err := ch.Cancel(ctx, "ca"); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	released, live := st.released, st.subs["a"]
	st.mu.Unlock()
	if released != 1 || live != 0 {
		t.Fatalf("after Cancel: %d releases, %d live subscriptions; want 1, 0", released, live)
	}
}

func TestBroadcasterSubscribeFails(t *testing.T) {
	st := &bcastStore{failS: errors.New("pubsub down")}
	ch := bcastChannel(t, st)
	_, err := ch.Consume(context.Background(), transports.ConsumeArgs{Queue: "a"})
	if !errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("Consume: %v, want ErrConnLost", err)
	}
}
