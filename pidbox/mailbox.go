package pidbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// DefaultTimeout is the reply window of calls whose ctx has no deadline:
// Kombu's default timeout of multi_call.
const DefaultTimeout = time.Second

// DefaultReplyQueueExpires is Kombu's REPLY_QUEUE_EXPIRES: a reply queue
// unused this long is deleted by the broker.
const DefaultReplyQueueExpires = 10 * time.Second

// Config holds the settings of a [Mailbox]. The zero value works and
// matches Kombu's Mailbox defaults.
type Config struct {
	// Type is the kind of the mailbox exchange "<namespace>.pidbox":
	// route.Direct (the default, Kombu's) or route.Fanout (Celery's).
	// Both sides of a mailbox must agree, as the exchange is declared by
	// both.
	Type route.Kind

	// Serializer names the serializer of requests and of the replies of
	// this mailbox's nodes. Empty means "json".
	Serializer string

	// Accept is the accept list of received commands and replies. Nil
	// means Kombu's ["json"].
	Accept []string

	// Clock is the Lamport clock of the mailbox and its nodes. Nil means
	// a clock of the mailbox's own.
	Clock *Clock

	// Timeout is the reply window of calls whose ctx has no deadline.
	// Zero means [DefaultTimeout].
	Timeout time.Duration

	// QueueTTL and QueueExpires are the message TTL and the expiry of
	// node queues (Kombu's queue_ttl, queue_expires). Zero means none.
	QueueTTL, QueueExpires time.Duration

	// ReplyQueueTTL is the message TTL of the reply queue. Zero means
	// none.
	ReplyQueueTTL time.Duration

	// ReplyQueueExpires is the expiry of the reply queue. Zero means
	// [DefaultReplyQueueExpires]; a negative value means none.
	ReplyQueueExpires time.Duration

	// Logger receives what nodes cannot report to a caller: undecodable
	// commands, failed casts, replies that could not be sent. Nil means
	// discard.
	Logger *slog.Logger
}

// Mailbox is Kombu's process mailbox (kombu.pidbox.Mailbox) on a kelp
// connection: the client side sends commands to nodes, and [Mailbox.Node]
// makes nodes that answer them. See the package documentation for the
// wire format.
//
// A Mailbox is safe for concurrent use. Its reply consumer is started by
// the first call that waits for replies and runs until [Mailbox.Close].
type Mailbox struct {
	c     *conn.Connection
	ns    string
	cfg   Config
	clock *Clock
	oid   string
	prod  *conn.Producer
	log   *slog.Logger

	mu      sync.Mutex
	closed  bool
	replies *conn.Consumer // nil until the first call
	done    chan struct{}  // closed when the reply dispatcher returns
	tickets map[string]*collector
}

// New returns the mailbox of namespace on c. It sends nothing yet.
func New(c *conn.Connection, namespace string, cfg Config) (*Mailbox, error) {
	var errs []error
	if namespace == "" {
		errs = append(errs, fmt.Errorf("%w: empty namespace", ErrInvalidConfig))
	}
	switch cfg.Type {
	case "":
		cfg.Type = route.Direct
	case route.Direct, route.Fanout, route.Topic:
	default:
		errs = append(errs, fmt.Errorf("%w: exchange type %q (want direct or fanout)", ErrInvalidConfig, cfg.Type))
	}
	if cfg.Timeout < 0 || cfg.QueueTTL < 0 || cfg.QueueExpires < 0 || cfg.ReplyQueueTTL < 0 {
		errs = append(errs, fmt.Errorf("%w: negative duration", ErrInvalidConfig))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Serializer == "" {
		cfg.Serializer = "json"
	}
	if cfg.Accept == nil {
		cfg.Accept = []string{"json"}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReplyQueueExpires == 0 {
		cfg.ReplyQueueExpires = DefaultReplyQueueExpires
	}
	m := &Mailbox{c: c, ns: namespace, cfg: cfg, clock: cfg.Clock, oid: newOID(),
		prod: c.Producer(), log: cfg.Logger, tickets: map[string]*collector{}}
	if m.clock == nil {
		m.clock = new(Clock)
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return m, nil
}

// Namespace returns the mailbox's namespace.
func (m *Mailbox) Namespace() string { return m.ns }

// Clock returns the mailbox's Lamport clock.
func (m *Mailbox) Clock() *Clock { return m.clock }

// OID returns the mailbox's object id: the routing key of its reply
// queue, a random UUID (Kombu derives it from host, process and thread).
func (m *Mailbox) OID() string { return m.oid }

// Exchange returns the mailbox exchange, "<namespace>.pidbox":
// non-durable, of [Config.Type], with transient messages.
func (m *Mailbox) Exchange() route.Exchange {
	return route.Exchange{Name: m.ns + ".pidbox", Kind: m.cfg.Type, DeliveryMode: route.Transient}
}

// ReplyExchange returns the reply exchange, "reply.<namespace>.pidbox":
// direct and non-durable, with transient messages.
func (m *Mailbox) ReplyExchange() route.Exchange {
	return route.Exchange{Name: "reply." + m.ns + ".pidbox", Kind: route.Direct, DeliveryMode: route.Transient}
}

// ReplyQueue returns the mailbox's reply queue, "<oid>.reply.<namespace>.pidbox",
// bound to the reply exchange with the oid: non-durable, auto-delete,
// expiring after [Config.ReplyQueueExpires] unused.
func (m *Mailbox) ReplyQueue() route.Queue {
	q := route.Queue{
		Name:       m.oid + "." + m.ReplyExchange().Name,
		AutoDelete: true,
		MessageTTL: m.cfg.ReplyQueueTTL,
		Bindings:   []route.Binding{route.Bind(m.ReplyExchange(), m.oid)},
	}
	if m.cfg.ReplyQueueExpires > 0 {
		q.Expires = m.cfg.ReplyQueueExpires
	}
	return q
}

// NodeQueue returns the queue of the node named hostname,
// "<hostname>.<namespace>.pidbox", bound to the mailbox exchange with an
// empty routing key: non-durable and auto-delete.
func (m *Mailbox) NodeQueue(hostname string) route.Queue {
	return route.Queue{
		Name:       hostname + "." + m.ns + ".pidbox",
		AutoDelete: true,
		MessageTTL: m.cfg.QueueTTL,
		Expires:    m.cfg.QueueExpires,
		Bindings:   []route.Binding{route.Bind(m.Exchange(), "")},
	}
}

// CallOption is a per-call setting of the commands a [Mailbox] sends.
type CallOption func(*callOptions)

type callOptions struct {
	pattern, matcher string
}

// WithPattern sends the command to the nodes whose hostname matches
// pattern under matcher ([MatchGlob], the default when empty, or
// [MatchPCRE]) rather than to a list of destinations. Nodes decide the
// match themselves, as Kombu's do.
func WithPattern(pattern, matcher string) CallOption {
	return func(o *callOptions) {
		o.pattern = pattern
		if matcher == "" {
			matcher = MatchGlob
		}
		o.matcher = matcher
	}
}

// Cast sends a command to the nodes named in destination and does not
// wait for replies (Kombu's cast). args are the command's keyword
// arguments: a map or struct that serializes as an object, or nil.
func (m *Mailbox) Cast(ctx context.Context, destination []string, method string, args any, opts ...CallOption) error {
	if len(destination) == 0 {
		return fmt.Errorf("%w: cast %q without a destination (use Broadcast)", ErrInvalidCall, method)
	}
	return m.send(ctx, destination, method, args, "", expiresOf(ctx), opts)
}

// Broadcast sends a command to every node of the mailbox (or those
// matching [WithPattern]) and does not wait for replies (Kombu's abcast).
func (m *Mailbox) Broadcast(ctx context.Context, method string, args any, opts ...CallOption) error {
	return m.send(ctx, nil, method, args, "", expiresOf(ctx), opts)
}

// Call sends a command to the nodes named in destination and collects
// their replies until each has replied or the reply window closes: at
// ctx's deadline, or after [Config.Timeout] when ctx has none (Kombu's
// call). When some nodes did not reply, it returns the replies it got and
// an error matching [ErrNoReply] naming them. A node's error reply is a
// [Reply] whose Err is a [*RemoteError], not an error of Call.
func (m *Mailbox) Call(ctx context.Context, destination []string, method string, args any, opts ...CallOption) ([]Reply, error) {
	if len(destination) == 0 {
		return nil, fmt.Errorf("%w: call %q without a destination (use MultiCall)", ErrInvalidCall, method)
	}
	replies, err := m.call(ctx, destination, method, args, len(destination), opts)
	if err != nil {
		return replies, err
	}
	var missing []string
	for _, d := range destination {
		if !slices.ContainsFunc(replies, func(r Reply) bool { return r.Node == d }) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return replies, fmt.Errorf("%w from %v to %q", ErrNoReply, missing, method)
	}
	return replies, nil
}

// MultiCall sends a command to every node (or those matching
// [WithPattern]) and collects replies until limit have arrived (0 means
// no limit) or the reply window closes: at ctx's deadline, or after
// [Config.Timeout] when ctx has none (Kombu's multi_call). The window
// closing is the normal end of a broadcast call, not an error: MultiCall
// then returns the replies it got. It returns an error when the command
// could not be sent, or when ctx is cancelled (with the replies so far).
func (m *Mailbox) MultiCall(ctx context.Context, method string, args any, limit int, opts ...CallOption) ([]Reply, error) {
	if limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", ErrInvalidCall, limit)
	}
	return m.call(ctx, nil, method, args, limit, opts)
}

// call sends a command with a ticket and collects up to limit replies.
func (m *Mailbox) call(ctx context.Context, dest []string, method string, args any, limit int, opts []CallOption) ([]Reply, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(m.cfg.Timeout)
	}
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	ticket := newOID()
	col, done, err := m.register(wctx, ticket)
	if err != nil {
		return nil, err
	}
	defer m.unregister(ticket)
	if err := m.send(wctx, dest, method, args, ticket, deadline, opts); err != nil {
		return nil, err
	}
	replies, err := col.wait(wctx, limit, done)
	if err != nil && wctx.Err() != nil && (ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		err = nil // the reply window closed: the normal end
	}
	return replies, err
}

// send publishes one command.
func (m *Mailbox) send(ctx context.Context, dest []string, method string, args any, ticket string, expires time.Time, opts []CallOption) error {
	if method == "" {
		return fmt.Errorf("%w: empty method", ErrInvalidCall)
	}
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.pattern != "" {
		if _, err := compileMatcher(o.pattern, o.matcher); err != nil {
			return err
		}
	}
	if args == nil {
		args = map[string]any{}
	}
	var rt *ReplyTo
	if ticket != "" {
		rt = &ReplyTo{Exchange: m.ReplyExchange().Name, RoutingKey: m.oid}
	}
	exp := any(int64(0))
	if !expires.IsZero() {
		exp = float64(expires.UnixNano()) / 1e9
	}
	body := requestBody(method, args, dest, o.pattern, o.matcher, ticket, rt)
	err := m.prod.Publish(ctx, body,
		conn.WithExchange(m.Exchange().Name),
		conn.WithDeclare(m.Exchange()),
		conn.WithSerializer(m.cfg.Serializer),
		conn.WithHeaders(route.Table{HeaderClock: int64(m.clock.Forward()), HeaderExpires: exp}))
	if err != nil {
		return fmt.Errorf("pidbox: send %q: %w", method, err)
	}
	return nil
}

// expiresOf is the expires header of a cast: ctx's deadline, or never.
func expiresOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// newOID returns a random (version 4) UUID in canonical form.
func newOID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
