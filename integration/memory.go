package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// memBroker is the memory target: an isolated in-process broker per test,
// whose fault injection stands in for the network and the node.
type memBroker struct {
	b *memory.Broker
}

func openMemory(t testing.TB) Broker {
	b := memory.New()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return &memBroker{b: b}
}

func (m *memBroker) Transport() string               { return "memory" }
func (m *memBroker) Connector() transports.Connector { return m.b.Connector() }

func (m *memBroker) Queue(t testing.TB, label string) route.Queue {
	return route.NewQueue(Unique(label))
}

func (m *memBroker) Ready(_ context.Context, queue string) (int, error) {
	st, ok := m.b.QueueStats(queue)
	if !ok {
		return 0, fmt.Errorf("integration: memory: no queue %q", queue)
	}
	return st.Messages, nil
}

func (m *memBroker) CloseConnections(_ testing.TB, name string) int {
	return m.b.DropConnections(name)
}

func (m *memBroker) Stop(t testing.TB) {
	m.b.RefuseConnections(errStopped)
	m.b.DropConnections("")
	t.Cleanup(func() { m.b.RefuseConnections(nil) })
}

func (m *memBroker) Start(testing.TB) { m.b.RefuseConnections(nil) }

func (m *memBroker) Alarm(t testing.TB) func() {
	m.b.Block("integration: memory alarm")
	var once sync.Once
	clear := func() { once.Do(m.b.Unblock) }
	t.Cleanup(clear)
	return clear
}

// Link returns a path whose faults act on the whole test broker: Cut drops
// every connection, including those dialled directly.
func (m *memBroker) Link(testing.TB) Link {
	return &memLink{b: m.b, refused: newCounter()}
}

// memLink is a Link to a memory broker: a Connector wrapper that refuses
// while down.
type memLink struct {
	b       *memory.Broker
	refused *counter

	mu   sync.Mutex
	down bool
}

func (l *memLink) Connector() transports.Connector { return linkConnector{l} }

func (l *memLink) Cut() int { return l.b.DropConnections("") }

func (l *memLink) SetDown(down bool) {
	l.mu.Lock()
	l.down = down
	l.mu.Unlock()
	if down {
		l.b.DropConnections("")
	}
}

func (l *memLink) Refused() int { return l.refused.load() }

func (l *memLink) WaitRefused(ctx context.Context, n int) error {
	return l.refused.wait(ctx, n, nil, nil)
}

func (l *memLink) Hold() bool { return false }
func (l *memLink) Release()   {}

// refuse reports whether the link is down, counting the attempt if so.
func (l *memLink) refuse() bool {
	l.mu.Lock()
	down := l.down
	l.mu.Unlock()
	if down {
		l.refused.add()
	}
	return down
}

// linkConnector dials the memory broker unless the link is down.
type linkConnector struct{ l *memLink }

func (c linkConnector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	if c.l.refuse() {
		return nil, fmt.Errorf("integration: memory link down: %w", transports.ErrConnLost)
	}
	return c.l.b.Connect(ctx, opts)
}

func (c linkConnector) Address() string { return c.l.b.Connector().Address() + " (link)" }
