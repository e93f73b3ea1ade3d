package transporttest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Features tells [Run] what the transport under test can do. The zero value
// describes the minimal transport: direct and default-exchange routing,
// declare/delete/purge, publish, consume, get and settle. Every flag adds the
// tests of one capability; a flag left false skips those tests (they show as
// skipped, with the flag's name), it never relaxes a core test.
//
// A flag whose capability is an optional SPI interface ([transports.Confirmer],
// [transports.Returner], [transports.ExchangeBinder], [transports.Recoverer],
// [transports.BlockNotifier]) also makes the suite check that the Channel or
// Conn implements that interface.
type Features struct {
	// ExchangeKinds are the exchange kinds the transport routes. Direct is
	// always required and need not be listed. Every kind of the four that is
	// not listed must be refused by ExchangeDeclare with an error wrapping
	// [transports.ErrUnsupported].
	ExchangeKinds []route.Kind

	// FIFO means that the messages of one publisher on one channel reach a
	// queue, and leave it through Get or a single consumer, in publish order.
	FIFO bool

	// RoundRobin means that the consumers of a queue that have credit are
	// served in turn, each from the moment its Consume returned (as
	// RabbitMQ does), so two messages go one to each of two consumers.
	RoundRobin bool

	// Priorities means queues honour MaxPriority (x-max-priority): ready
	// messages leave higher priority first, FIFO within a priority, and a
	// priority above the queue's maximum counts as the maximum.
	Priorities bool

	// Confirms means channels implement [transports.Confirmer].
	Confirms bool

	// Returns means unroutable mandatory publishes come back: on
	// [transports.Returner.Returns], or inside [transports.Confirmation.Return]
	// in confirm mode. Outside confirm mode the Channel must implement
	// [transports.Returner].
	Returns bool

	// ExchangeBindings means channels implement [transports.ExchangeBinder].
	ExchangeBindings bool

	// Recover means channels implement [transports.Recoverer] with requeue
	// true (requeue false may return [transports.ErrUnsupported]).
	Recover bool

	// BlockNotifications means connections implement
	// [transports.BlockNotifier]. The events themselves are tested only when
	// [Hooks.Block] is set.
	BlockNotifications bool

	// MessageTTL means queue MessageTTL (x-message-ttl) and the per-message
	// Expiration property are honoured: expired messages are never delivered.
	MessageTTL bool

	// QueueExpires means queue Expires (x-expires) is honoured: an unused
	// queue is deleted after that long.
	QueueExpires bool

	// MaxLength means queue MaxLength (x-max-length) is honoured with the
	// overflow behaviours drop-head (the default) and reject-publish.
	MaxLength bool

	// DeadLetter means queue DeadLetterExchange and DeadLetterRoutingKey are
	// honoured: messages rejected without requeue (and, with MessageTTL or
	// MaxLength, expired or dropped ones) are republished there with an
	// "x-death" header in RabbitMQ's shape (a list of tables with at least
	// "queue" and "reason").
	DeadLetter bool

	// ServerNamedQueues means QueueDeclare with an empty name creates a queue
	// with a fresh, broker-chosen name.
	ServerNamedQueues bool

	// ExclusiveQueues means exclusive queues belong to the connection that
	// declared them: other connections get 405 RESOURCE_LOCKED, and the
	// queue is deleted when its connection closes.
	ExclusiveQueues bool

	// AutoDelete means auto-delete queues are deleted when their last
	// consumer is cancelled, and auto-delete exchanges when their last
	// binding is removed.
	AutoDelete bool

	// Durability means the broker tells durable from transient queues and
	// exchanges, so redeclaring with the other durability fails with 406.
	// Leave it false for a transport that ignores Durable.
	Durability bool

	// Persistence means messages outlive the connection that published them:
	// a new Conn from the same Connector finds them.
	Persistence bool

	// MessageCounts means QueueDeclare reports Messages and Get reports
	// MessageCount exactly (never -1). Without it the suite accepts -1 but
	// still checks any other value.
	MessageCounts bool

	// ConsumerCounts means QueueDeclare reports Consumers exactly (never
	// -1). Without it the suite accepts -1 but still checks any other value.
	ConsumerCounts bool

	// BinaryHeaders means a []byte header value comes back as []byte. (A
	// transport that carries headers as JSON cannot tell it from a string.)
	BinaryHeaders bool

	// TimeHeaders means a time.Time header value comes back as a time.Time
	// equal to the second.
	TimeHeaders bool

	// UserID, when set, is the user the Connector authenticates as; the
	// round-trip test then publishes it in Properties.UserID and expects it
	// back. Empty leaves UserID out (RabbitMQ refuses any other user).
	UserID string

	// MaxMessageSize is the largest body, in bytes, the suite publishes.
	// Zero means 64 KiB.
	MaxMessageSize int

	// Timeout bounds each test: every wait of a test ends when it expires.
	// Zero means 10 seconds.
	Timeout time.Duration

	// Quiet is how long the suite watches for something that must not
	// happen (a delivery beyond the prefetch window, a return for a routable
	// message) before concluding that it does not. Zero means 100ms.
	Quiet time.Duration

	// SkipLeakCheck turns off the goroutine leak check the suite runs after
	// each test group. Set it when Run runs in parallel with other tests, or
	// when the driver keeps goroutines alive between connections by design;
	// goleak.VerifyTestMain in the driver's TestMain still checks at exit.
	SkipLeakCheck bool

	// Hooks inject faults into the broker behind a Connector. Each nil hook
	// skips the tests that need it.
	Hooks Hooks
}

// Hooks let [Run] inject faults into the broker behind a Connector made by
// the newConnector function given to Run. Each hook is called from the test
// goroutine with the Connector the test dials through.
type Hooks struct {
	// DropConnections kills every live connection dialled through c, as a
	// network failure would: each Conn's Done closes and its Err wraps
	// [transports.ErrConnLost]. It returns after the connections are dead or
	// once dying is certain. New connections must succeed afterwards.
	DropConnections func(t *testing.T, c transports.Connector)

	// Block makes the broker behind c stop (active true) or resume (false)
	// accepting published messages, so connections report
	// [transports.Blocking] events. Needs BlockNotifications.
	Block func(t *testing.T, c transports.Connector, active bool)
}

// Defaults of the zero-valued knobs.
const (
	defaultMaxMessageSize = 64 << 10
	defaultTimeout        = 10 * time.Second
	defaultQuiet          = 100 * time.Millisecond
)

// allKinds are the exchange kinds of AMQP 0-9-1.
var allKinds = []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers}

// withDefaults returns f with its zero-valued knobs filled in and Direct
// added to ExchangeKinds.
func (f Features) withDefaults() Features {
	if f.MaxMessageSize == 0 {
		f.MaxMessageSize = defaultMaxMessageSize
	}
	if f.Timeout == 0 {
		f.Timeout = defaultTimeout
	}
	if f.Quiet == 0 {
		f.Quiet = defaultQuiet
	}
	if !slices.Contains(f.ExchangeKinds, route.Direct) {
		f.ExchangeKinds = append(slices.Clip(f.ExchangeKinds), route.Direct)
	}
	return f
}

// validate reports a Features value that cannot describe a transport.
func (f Features) validate() error {
	for _, k := range f.ExchangeKinds {
		if !k.Valid() {
			return fmt.Errorf("transporttest: Features.ExchangeKinds: unknown kind %q", k)
		}
	}
	switch {
	case f.MaxMessageSize < 0:
		return fmt.Errorf("transporttest: Features.MaxMessageSize %d is negative", f.MaxMessageSize)
	case f.Timeout < 0:
		return fmt.Errorf("transporttest: Features.Timeout %v is negative", f.Timeout)
	case f.Quiet < 0:
		return fmt.Errorf("transporttest: Features.Quiet %v is negative", f.Quiet)
	case f.Quiet >= f.Timeout && f.Timeout > 0:
		return fmt.Errorf("transporttest: Features.Quiet %v must be shorter than Timeout %v", f.Quiet, f.Timeout)
	case f.Hooks.Block != nil && !f.BlockNotifications:
		return fmt.Errorf("transporttest: Hooks.Block needs Features.BlockNotifications")
	}
	return nil
}

// routes reports whether the transport routes exchanges of kind k.
func (f Features) routes(k route.Kind) bool { return slices.Contains(f.ExchangeKinds, k) }
