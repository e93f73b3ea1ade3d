package virtual

import (
	"context"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/transports"
)

// Lifecycle is the Connect of a Connector built on a [Broker] whose store
// holds shared state only while something is connected (a database pool,
// a lease, a maintenance goroutine): it counts the live Conns, runs Start
// before the first one and Stop after the last one has ended.
//
// Set Name, Broker, Start and Stop before the first Connect and never
// change them. A Lifecycle is safe for concurrent use; Start and Stop run
// under its lock, one at a time, so they need no lock of their own for
// the state they manage.
type Lifecycle struct {
	// Name is the driver's name, the prefix of its errors ("sql").
	Name string
	// Broker serves the Conns.
	Broker *Broker
	// Start prepares the shared state for the first live Conn; its error
	// fails that Connect and leaves nothing started.
	Start func(ctx context.Context) error
	// Stop releases the shared state after the last live Conn ended.
	Stop func()

	mu   sync.Mutex
	live int
}

// Connect opens a Conn on the Broker, running Start first when no Conn is
// live, and counts it until it ends. A Conn that ends (Close, a kill, a
// store failure) is uncounted by a goroutine that waits for its Done;
// the last one runs Stop.
func (l *Lifecycle) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: connect: %w", l.Name, err)
	}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	vc, err := l.Broker.Connect(ctx, opts)
	if err != nil {
		l.release()
		return nil, err
	}
	go func() {
		<-vc.Done()
		l.release()
	}()
	return vc, nil
}

// Idle runs fn if no Conn is live, holding the count so that none starts
// meanwhile, and reports whether it ran fn.
func (l *Lifecycle) Idle(fn func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live > 0 {
		return false
	}
	fn()
	return true
}

// acquire counts a live Conn, running Start for the first.
func (l *Lifecycle) acquire(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live == 0 {
		if err := l.Start(ctx); err != nil {
			return err
		}
	}
	l.live++
	return nil
}

// release uncounts a Conn that ended; the last one runs Stop.
func (l *Lifecycle) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live--
	if l.live == 0 {
		l.Stop()
	}
}
