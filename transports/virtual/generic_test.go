package virtual_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
	"github.com/kelpmq/kelp/transports/transporttest"
	"github.com/kelpmq/kelp/transports/virtual"
)

// plain is a Backend with none of the optional interfaces and no byte
// counts, like a store that can only do the basics: it makes the Broker
// take its generic paths (racing fetchers, expiry by fetch and requeue,
// no max-length-bytes).
type plain struct {
	virtual.Backend
	failPut atomic.Pointer[error]
}

func (p *plain) Len(ctx context.Context, q string) (virtual.QueueLen, error) {
	l, err := p.Backend.Len(ctx, q)
	l.Bytes = -1
	return l, err
}

func (p *plain) Put(ctx context.Context, q string, env *virtual.Envelope) error {
	if err := p.failPut.Load(); err != nil {
		return *err
	}
	return p.Backend.Put(ctx, q, env)
}

// connector dials a virtual.Broker.
type connector struct{ b *virtual.Broker }

func (c connector) Connect(ctx context.Context, o transports.ConnectOptions) (transports.Conn, error) {
	conn, err := c.b.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

func (connector) Address() string { return "virtual://plain" }

func newPlain(t *testing.T) (*virtual.Broker, *plain) {
	p := &plain{Backend: memory.NewBackend()}
	b := virtual.NewBroker(p, virtual.Config{})
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, p
}

// features is what a Broker claims over any store; suites below adjust it.
func features(brokers map[transports.Connector]*virtual.Broker) transporttest.Features {
	return transporttest.Features{
		ExchangeKinds: []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers},
		FIFO:          true, Priorities: true, Confirms: true, Returns: true, ExchangeBindings: true,
		Recover: true, MessageTTL: true, QueueExpires: true, MaxLength: true, DeadLetter: true,
		ServerNamedQueues: true, ExclusiveQueues: true, AutoDelete: true, Durability: true,
		Persistence: true, MessageCounts: true, ConsumerCounts: true, BinaryHeaders: true, TimeHeaders: true,
		Hooks: transporttest.Hooks{
			DropConnections: func(t *testing.T, c transports.Connector) { brokers[c].DropConnections("", nil) },
		},
	}
}

// The conformance suite over the generic paths. Round robin is not claimed:
// without a Reserver, waiting consumers race.
func TestConformanceGenericBackend(t *testing.T) {
	brokers := map[transports.Connector]*virtual.Broker{}
	transporttest.Run(t, features(brokers), func(t *testing.T) transports.Connector {
		b, _ := newPlain(t)
		c := connector{b}
		brokers[c] = b
		return c
	})
}

// publishWithFailingStore publishes to a declared queue after making the
// store's Put fail with cause, and returns the connection, the channel and
// Publish's error.
func publishWithFailingStore(t *testing.T, cause error) (transports.Conn, transports.Channel, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, p := newPlain(t)
	conn, err := b.Connect(ctx, transports.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	ch, _ := conn.Channel(ctx)
	if _, err := ch.QueueDeclare(ctx, route.NewQueue("q")); err != nil {
		t.Fatal(err)
	}
	p.failPut.Store(&cause)
	_, err = ch.Publish(ctx, transports.Publishing{RoutingKey: "q"})
	return conn, ch, err
}

func TestStoreFailureKillsTheConnection(t *testing.T) {
	broken := errors.New("store: connection reset")
	conn, _, err := publishWithFailingStore(t, broken)
	if !errors.Is(err, transports.ErrConnLost) || !errors.Is(err, broken) {
		t.Fatalf("publish with a broken store: %v", err)
	}
	<-conn.Done()
	if !errors.Is(conn.Err(), transports.ErrConnLost) {
		t.Fatalf("conn Err %v", conn.Err())
	}
}

func TestStoreCallCutShortClosesTheChannel(t *testing.T) {
	conn, ch, err := publishWithFailingStore(t, context.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, transports.ErrChannelClosed) {
		t.Fatalf("publish cut short in the store: %v", err)
	}
	<-ch.Done()
	if conn.Err() != nil {
		t.Fatalf("the connection died: %v", conn.Err())
	}
}

func TestMaxLengthBytesNeedsByteCounts(t *testing.T) {
	ctx := context.Background()
	b, _ := newPlain(t)
	conn, _ := b.Connect(ctx, transports.ConnectOptions{})
	defer conn.Close(ctx)
	ch, _ := conn.Channel(ctx)
	q := route.NewQueue("q")
	q.MaxLengthBytes = 100
	if _, err := ch.QueueDeclare(ctx, q); !errors.Is(err, transports.ErrUnsupported) {
		t.Fatalf("max-length-bytes on a store without byte counts: %v", err)
	}
	if b.HasQueue("q") {
		t.Fatal("the refused queue exists")
	}
}
