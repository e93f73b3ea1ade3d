package virtual_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
	"github.com/kelpmq/kelp/transports/transporttest"
	"github.com/kelpmq/kelp/transports/virtual"
)

// sharedStore is a store with a Catalog, as Redis will be: several Brokers
// on one sharedStore behave like several processes on one Redis.
type sharedStore struct {
	virtual.Backend
	mu   sync.Mutex
	sets map[string][]virtual.Binding
	// lists counts Bindings calls, to check the Broker asks every time.
	lists int
}

func newSharedStore() *sharedStore {
	return &sharedStore{Backend: memory.NewBackend(), sets: make(map[string][]virtual.Binding)}
}

// Reserve and Expire pass the memory store's optional interfaces through.
func (s *sharedStore) Reserve(q string) (virtual.Reservation, error) {
	return s.Backend.(virtual.Reserver).Reserve(q)
}

func (s *sharedStore) Expire(ctx context.Context, q string, now time.Time) ([]virtual.Envelope, time.Time, error) {
	return s.Backend.(virtual.Expirer).Expire(ctx, q, now)
}

func same(a, b virtual.Binding) bool {
	return a.Queue == b.Queue && a.Key == b.Key && route.Exchange{Arguments: a.Args}.Key() == route.Exchange{Arguments: b.Args}.Key()
}

func (s *sharedStore) AddBinding(_ context.Context, ex string, b virtual.Binding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.sets[ex], func(x virtual.Binding) bool { return same(x, b) }) {
		s.sets[ex] = append(s.sets[ex], b)
		slices.SortFunc(s.sets[ex], func(x, y virtual.Binding) int {
			return cmp.Or(cmp.Compare(x.Queue, y.Queue), cmp.Compare(x.Key, y.Key))
		})
	}
	return nil
}

func (s *sharedStore) RemoveBinding(_ context.Context, ex string, b virtual.Binding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sets[ex] = slices.DeleteFunc(s.sets[ex], func(x virtual.Binding) bool { return same(x, b) })
	return nil
}

func (s *sharedStore) Bindings(_ context.Context, ex string) ([]virtual.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return slices.Clone(s.sets[ex]), nil
}

func (s *sharedStore) rows(ex string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sets[ex])
}

// process is one Broker on a shared store, with a channel.
func process(t *testing.T, ctx context.Context, st *sharedStore) (*virtual.Broker, transports.Channel) {
	t.Helper()
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
	return b, ch
}

func TestCatalogSharesBindingsBetweenProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := newSharedStore()
	_, a := process(t, ctx, st)
	_, b := process(t, ctx, st)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ex := route.NewExchange("ex", route.Topic)
	must(a.ExchangeDeclare(ctx, ex))
	must(b.ExchangeDeclare(ctx, ex))
	_, err := a.QueueDeclare(ctx, route.NewQueue("q"))
	must(err)
	must(a.QueueBind(ctx, "q", "ex", "a.#", nil))
	if st.rows("ex") != 1 {
		t.Fatalf("binding not written through: %d rows", st.rows("ex"))
	}

	publish := func(exchange, key string) {
		t.Helper()
		_, err := b.Publish(ctx, transports.Publishing{Exchange: exchange, RoutingKey: key,
			Message: transports.Message{Body: []byte(key)}})
		must(err)
	}
	got := func() []string {
		t.Helper()
		var out []string
		for {
			d, ok, err := a.Get(ctx, "q", true)
			must(err)
			if !ok {
				return out
			}
			out = append(out, string(d.Body))
		}
	}
	// Process b never bound q, nor declared it.
	publish("ex", "a.b")
	publish("ex", "b.a")
	publish("", "q")
	if g := got(); !slices.Equal(g, []string{"a.b", "q"}) {
		t.Fatalf("a received %v", g)
	}
	// An unbind in a reaches b's routing.
	must(a.QueueUnbind(ctx, "q", "ex", "a.#", nil))
	publish("ex", "a.c")
	if g := got(); len(g) != 0 {
		t.Fatalf("routed after unbind: %v", g)
	}
	// Deleting the queue removes its bindings from the catalog.
	must(a.QueueBind(ctx, "q", "ex", "x.*", nil))
	_, err = a.QueueDelete(ctx, "q", transports.QueueDeleteOptions{})
	must(err)
	if st.rows("ex") != 0 {
		t.Fatalf("%d rows left after the queue was deleted", st.rows("ex"))
	}
	err = b.(transports.ExchangeBinder).ExchangeBind(ctx, "ex", "amq.topic", "#", nil)
	if !errors.Is(err, transports.ErrUnsupported) {
		t.Fatalf("exchange binding with a catalog: %v", err)
	}
}

// One Broker with a catalog still passes the suite: writing bindings
// through must not change single-process behaviour. With a catalog a
// queue this process does not know may exist elsewhere, so mandatory
// returns are not claimed, nor exchange bindings.
func TestConformanceCatalogBackend(t *testing.T) {
	brokers := map[transports.Connector]*virtual.Broker{}
	f := features(brokers)
	f.Returns, f.ExchangeBindings, f.RoundRobin = false, false, true
	transporttest.Run(t, f, func(t *testing.T) transports.Connector {
		b := virtual.NewBroker(newSharedStore(), virtual.Config{})
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		c := connector{b}
		brokers[c] = b
		return c
	})
}
