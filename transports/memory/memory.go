package memory

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// Scheme is the URL scheme this package registers.
const Scheme = "memory"

func init() { transports.Register(Scheme, driver{}) }

// Broker is an in-process AMQP broker. Each Broker is isolated: its
// exchanges, queues and messages are its own. It is safe for concurrent use.
type Broker struct {
	vb   *virtual.Broker
	addr string
}

// Option configures a Broker made by [New].
type Option func(*options)

type options struct {
	logger *slog.Logger
	name   string
}

// WithLogger sends the broker's diagnostics to l (by default they are
// discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithName names the broker in [transports.Connector.Address] and logs. It
// does not make the broker reachable by URL: see the package documentation
// for process-wide brokers.
func WithName(name string) Option { return func(o *options) { o.name = name } }

var isolated atomic.Uint64

// New returns a new, empty, isolated Broker.
func New(opts ...Option) *Broker {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.name == "" {
		o.name = "isolated-" + strconv.FormatUint(isolated.Add(1), 10)
	}
	return &Broker{
		vb:   virtual.NewBroker(newStore(), virtual.Config{Logger: o.logger}),
		addr: Scheme + "://" + o.name,
	}
}

// Connector returns a Connector that dials this Broker.
func (b *Broker) Connector() transports.Connector { return connector{b} }

// Connect opens a connection to the Broker, as the Connector does.
func (b *Broker) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	c, err := b.vb.Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	return memConn{c}, nil
}

// memConn is a connection of the virtual broker whose channels are
// [transports.Inline]: the in-process store answers Publish, Ack and Nack
// without I/O, and their only wait (while the Broker is blocked) ends with
// their ctx.
type memConn struct{ *virtual.Conn }

// Channel implements [transports.Conn].
func (c memConn) Channel(ctx context.Context) (transports.Channel, error) {
	ch, err := c.Conn.Channel(ctx)
	if err != nil {
		return nil, err
	}
	return memChannel{ch.(*virtual.Channel)}, nil
}

// memChannel is a virtual channel that says it is Inline.
type memChannel struct{ *virtual.Channel }

// Inline implements [transports.Inline].
func (memChannel) Inline() bool { return true }

// Close shuts the Broker down: every connection dies (Err wraps
// [transports.ErrConnLost]), every message is dropped and later connects
// fail. Tests that make a Broker may Close it in a cleanup to stop its
// timers; a Broker that is merely dropped is garbage once its connections
// are closed.
func (b *Broker) Close(ctx context.Context) error { return b.vb.Close(ctx) }

// DropConnections kills the live connections named name (see
// [transports.ConnectOptions].Name), or all of them when name is "", as a
// network failure would: their Done closes, their Err wraps
// [transports.ErrConnLost] (and a 320 CONNECTION_FORCED [*transports.Error]),
// their unsettled deliveries go back to their queues marked redelivered,
// and their exclusive queues are deleted. It returns once they are dead,
// with how many there were. New connections still succeed.
func (b *Broker) DropConnections(name string) int { return b.vb.DropConnections(name, nil) }

// RefuseConnections makes every Connect fail with an error wrapping
// [transports.ErrConnLost] and err, until RefuseConnections(nil). Use it to
// test reconnect backoff. Live connections are not affected.
func (b *Broker) RefuseConnections(err error) { b.vb.RefuseConnections(err) }

// CancelConsumers cancels every consumer of queue from the broker side:
// each Subscription's Deliveries channel closes after the deliveries it
// buffered, and its Err wraps [transports.ErrConsumerCancelled]. Unsettled
// deliveries stay unsettled. It returns once the consumers have ended, with
// how many there were.
func (b *Broker) CancelConsumers(queue string) int { return b.vb.CancelConsumers(queue) }

// Block stops publishing as a RabbitMQ resource alarm does: every
// connection's [transports.BlockNotifier] reports Active true with reason,
// and Publish waits until [Broker.Unblock] or its ctx ends.
func (b *Broker) Block(reason string) { b.vb.Block(reason) }

// Unblock resumes publishing after [Broker.Block] and reports Active false
// on every connection.
func (b *Broker) Unblock() { b.vb.Unblock() }

// NackPublishes makes the next n publishes (through any connection) fail on
// the broker: the message is not stored, and in confirm mode its
// Confirmation has Ack false. n <= 0 clears the fault.
func (b *Broker) NackPublishes(n int) { b.vb.NackPublishes(n) }

// QueueStats are the counts of a queue, for inspection in tests.
type QueueStats = virtual.QueueStats

// QueueStats reports the ready, unacknowledged and consumer counts of a
// queue, and false when it does not exist.
func (b *Broker) QueueStats(queue string) (QueueStats, bool) { return b.vb.QueueStats(queue) }

// HasQueue reports whether a queue exists.
func (b *Broker) HasQueue(name string) bool { return b.vb.HasQueue(name) }

// HasExchange reports whether an exchange exists.
func (b *Broker) HasExchange(name string) bool { return b.vb.HasExchange(name) }

// HasBinding reports whether queue is bound to exchange with key and args.
func (b *Broker) HasBinding(exchange, queue, key string, args route.Table) bool {
	return b.vb.HasBinding(exchange, queue, key, args)
}

// HasExchangeBinding reports whether exchange destination is bound to
// exchange source with key and args.
func (b *Broker) HasExchangeBinding(destination, source, key string, args route.Table) bool {
	return b.vb.HasExchangeBinding(destination, source, key, args)
}

// Connections returns the number of live connections.
func (b *Broker) Connections() int { return b.vb.Connections() }

// connector dials one Broker.
type connector struct{ b *Broker }

// Connect implements [transports.Connector].
func (c connector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	return c.b.Connect(ctx, opts)
}

// Address implements [transports.Connector].
func (c connector) Address() string { return c.b.addr }

// Process-wide brokers reached by URL.
var shared struct {
	sync.Mutex
	brokers map[string]*Broker
}

// Shared returns the process-wide Broker that "memory://name" URLs reach
// (name "" is the default broker of "memory://"), creating it on first
// use. Shared brokers live as long as the process.
func Shared(name string) *Broker {
	shared.Lock()
	defer shared.Unlock()
	if b := shared.brokers[name]; b != nil {
		return b
	}
	if shared.brokers == nil {
		shared.brokers = make(map[string]*Broker)
	}
	b := New()
	b.addr = Scheme + "://" + name
	shared.brokers[name] = b
	return b
}

// driver opens connectors for memory URLs.
type driver struct{}

// OpenConnector parses "memory://" or "memory://name" (an optional "/"
// path is allowed). There are no query options: any is an error.
func (driver) OpenConnector(rawURL string) (transports.Connector, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: memory: %v", transports.ErrInvalidURL, redact(err, rawURL))
	}
	switch {
	case u.Scheme != Scheme:
		return nil, fmt.Errorf("%w: memory: scheme %q is not %q", transports.ErrInvalidURL, u.Scheme, Scheme)
	case u.User != nil:
		return nil, fmt.Errorf("%w: memory: %s: user information is not allowed", transports.ErrInvalidURL, transports.RedactURL(rawURL))
	case u.Port() != "":
		return nil, fmt.Errorf("%w: memory: %s: a port is not allowed", transports.ErrInvalidURL, rawURL)
	case u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("%w: memory: %s: unexpected path %q (want memory://name)", transports.ErrInvalidURL, rawURL, u.Path)
	case u.Opaque != "":
		return nil, fmt.Errorf("%w: memory: %s: want memory://name", transports.ErrInvalidURL, rawURL)
	}
	for k := range u.Query() {
		return nil, fmt.Errorf("%w: memory: %s: unknown option %q (the memory transport has none)",
			transports.ErrInvalidURL, rawURL, k)
	}
	return Shared(u.Hostname()).Connector(), nil
}

// redact returns the URL parse error's text without the password.
func redact(err error, rawURL string) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Op + " " + strconv.Quote(transports.RedactURL(rawURL)) + ": " + ue.Err.Error()
	}
	return err.Error()
}
