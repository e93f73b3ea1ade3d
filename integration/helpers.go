package integration

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
)

// Unique returns a queue, exchange or connection name that no other test
// run uses: "kelp.it.<label>.<random>".
func Unique(label string) string {
	return "kelp.it." + label + "." + strings.ToLower(rand.Text()[:10])
}

// Ctx returns a context that ends after d or with the test, whichever is
// first: a bound on everything a test waits for.
func Ctx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// NoLeaks fails t if goroutines started during it outlive it. Call it
// first, so that its check runs after every other cleanup.
func NoLeaks(t testing.TB) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// Config returns the connection settings of a test connection: a unique
// Name built from label (so that [Broker.CloseConnections] finds it), logs
// in the test's output, fast reconnects (100ms to 500ms between rounds),
// and its state changes reported to the returned [Watch].
func Config(t testing.TB, label string) (conn.Config, *Watch) {
	w := NewWatch()
	return conn.Config{
		Name:           Unique(label),
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Reconnect:      conn.Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond},
		ConnectTimeout: 3 * time.Second,
		OnStateChange:  w.Observe,
	}, w
}

// Open opens a connection over ctr with cfg, within 20 seconds, and closes
// it when the test ends (a Close error fails the test).
func Open(t testing.TB, ctr transports.Connector, cfg conn.Config) *conn.Connection {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := conn.Open(ctx, ctr, cfg)
	if err != nil {
		t.Fatalf("Open %s: %v", ctr.Address(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// testWriter writes log lines to the test's output.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Watch follows the states of a [conn.Connection]: put [Watch.Observe] in
// Config.OnStateChange ([Config] does) and wait with [Watch.Wait]. It is
// safe for concurrent use.
type Watch struct {
	mu      sync.Mutex
	last    conn.StateChange
	changed chan struct{} // closed and replaced on every change
}

// NewWatch returns a Watch that has seen nothing yet.
func NewWatch() *Watch { return &Watch{changed: make(chan struct{})} }

// Observe records a state change. It is a conn.Config.OnStateChange hook.
func (w *Watch) Observe(sc conn.StateChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = sc
	close(w.changed)
	w.changed = make(chan struct{})
}

// Last returns the latest state change observed.
func (w *Watch) Last() conn.StateChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Wait waits until the latest state change satisfies cond, or ctx ends.
// The hook may coalesce rapid changes, so cond should describe a state
// that lasts (open in a later epoch, reconnecting while the broker is
// down), not a passing one.
func (w *Watch) Wait(ctx context.Context, cond func(conn.StateChange) bool) (conn.StateChange, error) {
	for {
		w.mu.Lock()
		last, changed := w.last, w.changed
		w.mu.Unlock()
		if cond(last) {
			return last, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return last, fmt.Errorf("integration: state %v (epoch %d) and waiting: %w", last.State, last.Epoch, ctx.Err())
		}
	}
}

// WaitOpen waits until the connection is open in epoch e or later.
func (w *Watch) WaitOpen(ctx context.Context, e uint64) error {
	_, err := w.Wait(ctx, func(sc conn.StateChange) bool { return sc.State == conn.StateOpen && sc.Epoch >= e })
	return err
}

// WaitLost waits until the connection has noticed the loss of epoch e: it
// is reconnecting, or open in a later epoch.
func (w *Watch) WaitLost(ctx context.Context, e uint64) error {
	_, err := w.Wait(ctx, func(sc conn.StateChange) bool {
		return sc.State == conn.StateReconnecting || sc.Epoch > e
	})
	return err
}

// counter is a count that can be waited for. The zero value is not
// usable: make it with newCounter.
type counter struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced when n grows
}

func newCounter() *counter { return &counter{changed: make(chan struct{})} }

func (c *counter) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *counter) load() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// wait waits until the count reaches n, ctx ends, or stop closes (then it
// returns stopErr).
func (c *counter) wait(ctx context.Context, n int, stop <-chan struct{}, stopErr error) error {
	for {
		c.mu.Lock()
		got, changed := c.n, c.changed
		c.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("integration: counted %d of %d: %w", got, n, ctx.Err())
		case <-stop:
			return stopErr
		}
	}
}
