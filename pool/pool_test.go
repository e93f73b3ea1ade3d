package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pool"
)

// forEach runs f on every broker with a pool of limit connections, closed
// when the test ends, and a counter of the pool's dials.
func forEach(t *testing.T, limit int, f func(t *testing.T, p *pool.Pool, dials *atomic.Int64)) {
	for _, b := range brokers {
		t.Run(b.Name, func(t *testing.T) {
			var dials atomic.Int64
			p, err := pool.New(dialer(b.Open(t).URL(), &dials), pool.Config{Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := p.Close(ctx); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			f(t, p, &dials)
		})
	}
}

func mustAcquire(t *testing.T, p *pool.Pool) *pool.Conn {
	t.Helper()
	c, err := p.Acquire(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLimit(t *testing.T) {
	forEach(t, 2, func(t *testing.T, p *pool.Pool, dials *atomic.Int64) {
		ctx := testCtx(t)
		a, b := mustAcquire(t, p), mustAcquire(t, p)
		if a.Connection == b.Connection {
			t.Fatal("two acquires share a connection")
		}
		if _, err := p.TryAcquire(ctx); !errors.Is(err, pool.ErrLimitExceeded) {
			t.Fatalf("TryAcquire at the limit = %v, want ErrLimitExceeded", err)
		}
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := p.Acquire(wctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire at the limit = %v, want DeadlineExceeded", err)
		}
		if s := p.Stats(); s != (pool.Stats{Limit: 2, Acquired: 2}) {
			t.Fatalf("Stats = %+v", s)
		}
		// A waiting Acquire gets the connection released, reused.
		got := make(chan *pool.Conn)
		go func() {
			c, err := p.Acquire(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- c
		}()
		b.Release()
		b.Release() // a second give-back is a no-op
		c := <-got
		if c.Connection != b.Connection || dials.Load() != 2 {
			t.Fatalf("waiter got a new connection (%d dials), want the released one", dials.Load())
		}
		a.Release()
		c.Release()
		if s := p.Stats(); s != (pool.Stats{Limit: 2, Idle: 2}) {
			t.Fatalf("Stats = %+v", s)
		}
		// LIFO: the last released comes first.
		d := mustAcquire(t, p)
		if d.Connection != c.Connection {
			t.Fatal("Acquire did not reuse the most recently released connection")
		}
		if err := d.Producer().Publish(ctx, "works"); err != nil {
			t.Fatal(err)
		}
		d.Release()
	})
}

func TestReplace(t *testing.T) {
	forEach(t, 1, func(t *testing.T, p *pool.Pool, dials *atomic.Int64) {
		ctx := testCtx(t)
		a := mustAcquire(t, p)
		a.Replace()
		<-a.Done() // Replace closes it
		b := mustAcquire(t, p)
		if b.Connection == a.Connection || dials.Load() != 2 {
			t.Fatal("Acquire after Replace did not dial a new connection")
		}
		// A connection that closed while acquired is dropped on release.
		if err := b.Connection.Close(ctx); err != nil {
			t.Fatal(err)
		}
		b.Release()
		if s := p.Stats(); s.Idle != 0 {
			t.Fatalf("closed connection kept idle: %+v", s)
		}
		c := mustAcquire(t, p)
		// One that closes while idle is skipped by the next acquire.
		c.Release()
		if err := c.Connection.Close(ctx); err != nil {
			t.Fatal(err)
		}
		d := mustAcquire(t, p)
		if d.Connection == c.Connection || dials.Load() != 4 {
			t.Fatalf("got a closed idle connection (%d dials)", dials.Load())
		}
		if err := d.Producer().Publish(ctx, "x"); err != nil {
			t.Fatalf("new connection unusable: %v", err)
		}
		d.Release()
	})
}

func TestClose(t *testing.T) {
	forEach(t, 2, func(t *testing.T, p *pool.Pool, _ *atomic.Int64) {
		ctx := testCtx(t)
		idle := mustAcquire(t, p)
		idle.Release()
		held := mustAcquire(t, p)
		other := mustAcquire(t, p)
		// A waiter is woken by Close with ErrClosed.
		waitErr := make(chan error)
		go func() {
			_, err := p.Acquire(ctx)
			waitErr <- err
		}()
		expired, cancel := context.WithCancel(ctx)
		cancel()
		if err := p.Close(expired); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close with connections acquired and ctx done = %v, want Canceled", err)
		}
		if err := <-waitErr; !errors.Is(err, pool.ErrClosed) {
			t.Fatalf("waiting Acquire = %v, want ErrClosed", err)
		}
		for _, f := range []func(context.Context) (*pool.Conn, error){p.Acquire, p.TryAcquire} {
			if _, err := f(ctx); !errors.Is(err, pool.ErrClosed) {
				t.Fatalf("acquire after Close = %v, want ErrClosed", err)
			}
		}
		// Close waits for the acquired connections, closing each as it
		// comes back.
		closed := make(chan error)
		go func() { closed <- p.Close(ctx) }()
		other.Release()
		held.Release()
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		for _, c := range []*pool.Conn{held, other} {
			select {
			case <-c.Done():
			default:
				t.Fatal("a connection released after Close is still open")
			}
		}
		if s := p.Stats(); s.Idle != 0 || s.Acquired != 0 {
			t.Fatalf("Stats after Close = %+v", s)
		}
	})
}

func TestDo(t *testing.T) {
	forEach(t, 1, func(t *testing.T, p *pool.Pool, dials *atomic.Int64) {
		ctx := testCtx(t)
		var first *conn.Connection
		err := p.Do(ctx, func(ctx context.Context, c *conn.Connection) error {
			first = c
			return c.Close(ctx) // the next call fails with ErrClosed
		})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err = p.Do(ctx, func(ctx context.Context, c *conn.Connection) error {
			if c == first {
				t.Error("Do reused a closed connection")
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Do = %v, want fn's error", err)
		}
		err = p.Do(ctx, func(ctx context.Context, c *conn.Connection) error {
			_ = c.Close(ctx)
			return c.Producer().Publish(ctx, "x") // ErrClosed: Do replaces
		})
		if !errors.Is(err, conn.ErrClosed) || p.Stats().Idle != 0 {
			t.Fatalf("Do = %v, idle %d; want ErrClosed and the connection dropped", err, p.Stats().Idle)
		}
	})
}

// TestConcurrent has more workers than connections: no acquire exceeds
// the limit and every publish goes through.
func TestConcurrent(t *testing.T) {
	forEach(t, 3, func(t *testing.T, p *pool.Pool, dials *atomic.Int64) {
		ctx := testCtx(t)
		var inUse, peak atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 10 {
					err := p.Do(ctx, func(ctx context.Context, c *conn.Connection) error {
						n := inUse.Add(1)
						defer inUse.Add(-1)
						for {
							old := peak.Load()
							if n <= old || peak.CompareAndSwap(old, n) {
								break
							}
						}
						return c.Producer().Publish(ctx, fmt.Sprint(w, i))
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if peak.Load() > 3 || dials.Load() > 3 {
			t.Fatalf("peak %d in use, %d dials; limit 3", peak.Load(), dials.Load())
		}
	})
}

func TestDialError(t *testing.T) {
	boom := errors.New("no broker")
	p, err := pool.New(func(context.Context) (*conn.Connection, error) { return nil, boom }, pool.Config{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for range 2 { // the failed dial frees its slot
		if _, err := p.TryAcquire(testCtx(t)); !errors.Is(err, boom) {
			t.Fatalf("TryAcquire = %v, want the dial error", err)
		}
	}
	if s := p.Stats(); s.Acquired != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestConfig(t *testing.T) {
	dial := func(context.Context) (*conn.Connection, error) { return nil, nil }
	for name, tc := range map[string]struct {
		dial pool.Dialer
		cfg  pool.Config
	}{
		"negative limit":   {dial, pool.Config{Limit: -1}},
		"negative timeout": {dial, pool.Config{CloseTimeout: -1}},
		"nil dialer":       {nil, pool.Config{}},
	} {
		if _, err := pool.New(tc.dial, tc.cfg); !errors.Is(err, pool.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	p, err := pool.New(dial, pool.Config{})
	if err != nil || p.Stats().Limit != pool.DefaultLimit {
		t.Fatalf("zero Config: %v, %+v", err, p.Stats())
	}
}
