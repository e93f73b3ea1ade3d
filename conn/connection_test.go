package conn_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	_ "github.com/kelpmq/kelp/transports/memory"
)

func TestOpenClose(t *testing.T) {
	_, c := open(t, conn.Config{Name: "t"})
	if c.State() != conn.StateOpen || c.Epoch() != 1 {
		t.Fatalf("after Open: state %v epoch %d", c.State(), c.Epoch())
	}
	ctx := testCtx(t)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c.State() != conn.StateClosed || c.Err() != nil {
		t.Fatalf("after Close: %v %v", c.State(), c.Err())
	}
	<-c.Done()
	if err := c.Producer().Publish(ctx, "x"); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("Publish after Close = %v", err)
	}
	if err := c.Declare(ctx, route.NewQueue("q")); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("Declare after Close = %v", err)
	}
	if _, err := c.Consume(ctx, conn.QueueNames("q")); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("Consume after Close = %v", err)
	}
}

func TestDial(t *testing.T) {
	ctx := testCtx(t)
	c, err := conn.Dial(ctx, "memory://conn-test-dial?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Dial(ctx, "nosuch://u:hunter2@h/")
	if !errors.Is(err, transports.ErrUnknownScheme) || !strings.Contains(err.Error(), "transports/all") ||
		strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("unknown scheme: %v", err)
	}
	if _, err := conn.Dial(ctx, "memory://?bogus=1"); !errors.Is(err, transports.ErrInvalidURL) {
		t.Fatalf("driver option error: %v", err)
	}
	if _, err := conn.DialConfig(ctx, "memory://", conn.Config{ConfirmWindow: -1}); !errors.Is(err, conn.ErrInvalidConfig) {
		t.Fatalf("invalid config: %v", err)
	}
}

func TestStateHook(t *testing.T) {
	var mu sync.Mutex
	var seen []conn.StateChange
	b, c := open(t, conn.Config{OnStateChange: func(s conn.StateChange) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}})
	b.DropConnections("")
	waitEpoch(t, c, 2)
	if err := c.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Rapid changes may be coalesced, but the order holds and the last
	// states are always seen.
	var states []conn.State
	reopened := false
	for _, s := range seen {
		states = append(states, s.State)
		reopened = reopened || (s.State == conn.StateOpen && s.Epoch == 2)
	}
	if !reopened || states[len(states)-1] != conn.StateClosed {
		t.Fatalf("hook saw %v", seen)
	}
}

func containsInOrder(have []conn.State, want ...conn.State) bool {
	i := 0
	for _, s := range have {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestDeclareAndReplay(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	ex := route.NewExchange("logs", route.Topic)
	q := route.Queue{Name: "errors", Exclusive: true, Bindings: []route.Binding{route.Bind(ex, "*.error")}}
	if err := c.Declare(ctx, ex, q); err != nil {
		t.Fatal(err)
	}
	if !b.HasQueue("errors") || !b.HasBinding("logs", "errors", "*.error", nil) {
		t.Fatal("not declared")
	}
	b.DropConnections("") // exclusive: the queue goes with the connection
	waitEpoch(t, c, 2)
	if !b.HasQueue("errors") || !b.HasBinding("logs", "errors", "*.error", nil) {
		t.Fatal("topology not replayed after reconnect")
	}
	if err := c.Declare(ctx, route.Exchange{Name: "bad", Kind: "nope"}); !errors.Is(err, route.ErrInvalidExchange) {
		t.Fatalf("invalid exchange: %v", err)
	}
	if err := c.Declare(ctx, route.NewExchange("logs", route.Direct)); !errors.Is(err, conn.ErrPreconditionFailed) {
		t.Fatalf("redeclare with another kind: %v", err)
	}
	if err := c.Declare(ctx, route.Queue{Name: "missing", Passive: true}); !errors.Is(err, conn.ErrNotFound) {
		t.Fatalf("passive missing queue: %v", err)
	}
	// The refused redeclaration did not replace the recorded exchange, and
	// the channel it closed was replaced.
	b.DropConnections("")
	waitEpoch(t, c, 3)
	if !b.HasBinding("logs", "errors", "*.error", nil) {
		t.Fatal("binding lost after a refused redeclaration")
	}
	if err := c.ExchangeDelete(ctx, "logs", false); err != nil {
		t.Fatal(err)
	}
	if n, err := c.QueueDelete(ctx, "errors", conn.QueueDeleteOptions{}); err != nil || n != 0 {
		t.Fatalf("QueueDelete = %d, %v", n, err)
	}
	b.DropConnections("")
	waitEpoch(t, c, 4)
	if b.HasExchange("logs") || b.HasQueue("errors") {
		t.Fatal("deleted entities replayed")
	}
}

func TestMaybeDeclareCaches(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	q := route.NewQueue("cached")
	if err := c.MaybeDeclare(ctx, q); err != nil {
		t.Fatal(err)
	}
	// Delete it behind kelp's back: a cached MaybeDeclare does not notice.
	deleteBehind(t, b, "cached")
	if err := c.MaybeDeclare(ctx, q); err != nil {
		t.Fatal(err)
	}
	if b.HasQueue("cached") {
		t.Fatal("MaybeDeclare declared again despite the cache")
	}
	// A different definition is a different key.
	q2 := q
	q2.MaxLength = 10
	if err := c.MaybeDeclare(ctx, q2); err != nil {
		t.Fatal(err)
	}
	if !b.HasQueue("cached") {
		t.Fatal("a new definition was not declared")
	}
	// Auto-delete entities are never cached.
	ad := route.Exchange{Name: "ad", Kind: route.Fanout, AutoDelete: true}
	if err := c.MaybeDeclare(ctx, ad); err != nil {
		t.Fatal(err)
	}
	if err := c.MaybeDeclare(ctx, route.Exchange{Name: "x", Kind: "?"}); !errors.Is(err, route.ErrInvalidExchange) {
		t.Fatalf("invalid entity: %v", err)
	}
}

// deleteBehind deletes a queue through a raw transport connection.
func deleteBehind(t *testing.T, b interface {
	Connector() transports.Connector
}, name string) {
	t.Helper()
	ctx := testCtx(t)
	tc, err := b.Connector().Connect(ctx, transports.ConnectOptions{Name: "behind"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close(ctx)
	ch, err := tc.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(ctx, name, transports.QueueDeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

var _ = context.Background
