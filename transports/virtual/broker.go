package virtual

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Config holds the settings of a [Broker]. The zero value is valid.
type Config struct {
	// Logger receives diagnostics (store failures during cleanup). Nil
	// means discard.
	Logger *slog.Logger
}

// Broker is an emulated AMQP 0-9-1 broker over a [Backend]: it keeps the
// exchanges, queue definitions, bindings, connections, channels, consumers
// and unacknowledged deliveries, and stores messages in the Backend.
//
// A Broker is safe for concurrent use. Its topology lives in this process;
// see the package documentation for what that means for shared stores.
type Broker struct {
	backend  Backend
	catalog  Catalog         // the backend's, when it shares bindings
	xcatalog ExchangeCatalog // the backend's, when it shares exchanges too
	bcast    Broadcaster     // the backend's, when it broadcasts fanout exchanges
	putter   BatchPutter     // the backend's, when it stores in batches
	fetcher  BatchFetcher    // the backend's, when it claims in batches (and is no Reserver)
	acker    BatchAcker      // the backend's, when it acks in batches
	log      *slog.Logger
	remotes  sync.Map // queue name -> *queue: queues known only to the catalog

	// mu guards the topology and the connection set. Publishing takes it
	// for reading only.
	mu        sync.RWMutex
	exchanges map[string]*exchange
	queues    map[string]*queue
	conns     map[*Conn]struct{}
	closed    bool
	// autoDeleted are auto-delete exchanges removed here and not yet from
	// the ExchangeCatalog.
	autoDeleted []string

	// Fault injection and flow control (see admin.go).
	block      atomic.Pointer[blockState]
	nackNext   atomic.Int64
	refuseErr  atomic.Pointer[error]
	scratchers sync.Pool // *scratch for routing outside a channel
}

// NewBroker returns a Broker storing messages in backend. It declares the
// standard exchanges amq.direct, amq.fanout, amq.topic, amq.headers and
// amq.match, as RabbitMQ does.
func NewBroker(backend Backend, cfg Config) *Broker {
	b := &Broker{
		backend:   backend,
		log:       cfg.Logger,
		exchanges: make(map[string]*exchange),
		queues:    make(map[string]*queue),
		conns:     make(map[*Conn]struct{}),
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.catalog, _ = backend.(Catalog)
	if b.catalog != nil {
		b.xcatalog, _ = backend.(ExchangeCatalog)
	}
	b.bcast, _ = backend.(Broadcaster)
	b.putter, _ = backend.(BatchPutter)
	if _, ok := backend.(Reserver); !ok {
		b.fetcher, _ = backend.(BatchFetcher)
	}
	b.acker, _ = backend.(BatchAcker)
	b.scratchers.New = func() any { return new(scratch) }
	for name, kind := range map[string]route.Kind{
		"amq.direct": route.Direct, "amq.fanout": route.Fanout, "amq.topic": route.Topic,
		"amq.headers": route.Headers, "amq.match": route.Headers,
	} {
		r, _ := route.NewRouter(kind)
		b.exchanges[name] = &exchange{def: route.Exchange{Name: name, Kind: kind, Durable: true}, router: r}
	}
	return b
}

// Backend returns the store the Broker was made with.
func (b *Broker) Backend() Backend { return b.backend }

// Connect opens a connection to the Broker. It fails with an error wrapping
// [transports.ErrConnLost] after [Broker.Close] or while connections are
// refused (see [Broker.RefuseConnections]), and with ctx's error when ctx
// has ended.
func (b *Broker) Connect(ctx context.Context, opts transports.ConnectOptions) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("virtual: connect: %w", err)
	}
	if p := b.refuseErr.Load(); p != nil {
		return nil, fmt.Errorf("virtual: connect: %w: %w", transports.ErrConnLost, *p)
	}
	c := newConn(b, opts)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("virtual: connect: %w: broker closed", transports.ErrConnLost)
	}
	b.conns[c] = struct{}{}
	if st := b.block.Load(); st != nil {
		c.notifyBlocked(transports.Blocking{Active: true, Reason: st.reason})
	}
	return c, nil
}

// Close shuts the Broker down: every connection dies with an error wrapping
// [transports.ErrConnLost], every queue is deleted from the Backend and its
// timers stop, and later Connect calls fail. It is idempotent.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.DropConnections("", transports.NewError(320, "CONNECTION_FORCED - broker shutdown"))
	b.mu.Lock()
	var gone []deletion
	for _, q := range b.queues {
		gone = append(gone, b.unlinkQueueLocked(q)...)
	}
	b.mu.Unlock()
	for _, d := range gone {
		b.finishQueueDelete(ctx, d)
	}
	b.unblock()
	return nil
}

// removeConn forgets a connection that died.
func (b *Broker) removeConn(c *Conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// randomName returns prefix followed by 22 random URL-safe characters, the
// shape of RabbitMQ's generated names ("amq.gen-...", "amq.ctag-...").
func randomName(prefix string) string {
	var buf [16]byte
	_, _ = rand.Read(buf[:])
	return prefix + base64.RawURLEncoding.EncodeToString(buf[:])
}

// scratch is reusable memory for routing one message.
type scratch struct {
	// fanout is set by route when the exchange is a fanout exchange.
	fanout bool
	env    Envelope
	names  []string
	queues []*queue
	exs    []*exchange
}

func (b *Broker) getScratch() *scratch  { return b.scratchers.Get().(*scratch) }
func (b *Broker) putScratch(s *scratch) { clear(s.queues); b.scratchers.Put(s) }
