package pidbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// Handler runs one command on a [Node]. Its result is the reply to a call
// (it must serialize with the mailbox's serializer); an error becomes the
// reply {"error": err.Error()}. For a cast the result is dropped and an
// error only logged.
type Handler interface {
	HandleCommand(ctx context.Context, req *Request) (any, error)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, req *Request) (any, error)

// HandleCommand calls f(ctx, req).
func (f HandlerFunc) HandleCommand(ctx context.Context, req *Request) (any, error) {
	return f(ctx, req)
}

// Node is one named receiver of a mailbox's commands (kombu.pidbox.Node):
// it consumes the queue "<hostname>.<namespace>.pidbox" and runs the
// handler registered for each command's method. Register handlers with
// [Node.Handle], then start it with [Node.Listen].
//
// A Node is safe for concurrent use; handlers may be added while it
// listens.
type Node struct {
	m        *Mailbox
	hostname string

	mu       sync.RWMutex
	handlers map[string]Handler
}

// Node returns a node of the mailbox named hostname; an empty hostname
// means the machine's (os.Hostname), as in Kombu.
func (m *Mailbox) Node(hostname string) *Node {
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	return &Node{m: m, hostname: hostname, handlers: map[string]Handler{}}
}

// Hostname returns the node's name.
func (n *Node) Hostname() string { return n.hostname }

// Handle registers h for method, replacing any handler it had.
func (n *Node) Handle(method string, h Handler) {
	n.mu.Lock()
	n.handlers[method] = h
	n.mu.Unlock()
}

// HandleFunc registers f for method.
func (n *Node) HandleFunc(method string, f func(ctx context.Context, req *Request) (any, error)) {
	n.Handle(method, HandlerFunc(f))
}

// Listener is a listening [Node]: one consumer and one goroutine that
// runs the commands, one at a time and in order, until [Listener.Stop].
type Listener struct {
	n      *Node
	cons   *conn.Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

// Listen declares the mailbox exchange and the node's queue, bound to it,
// and starts consuming (no-ack, as Kombu's nodes do). ctx bounds the setup
// only; the listener runs until [Listener.Stop] or until its consumer
// fails ([Listener.Done], [Listener.Err]).
func (n *Node) Listen(ctx context.Context) (*Listener, error) {
	q := n.m.NodeQueue(n.hostname)
	cons, err := n.m.c.Consume(ctx, []route.Queue{q}, conn.WithNoAck(), conn.WithAccept(n.m.cfg.Accept...))
	if err != nil {
		return nil, fmt.Errorf("pidbox: node %s: listen: %w", n.hostname, err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	l := &Listener{n: n, cons: cons, cancel: cancel, done: make(chan struct{})}
	go l.run(hctx)
	return l, nil
}

// Stop stops listening: the consumer stops (commands not yet run are
// lost, as with Kombu's no-ack consumers), the handler in progress sees
// its ctx cancelled, and Stop waits for it to return. Stop is idempotent.
func (l *Listener) Stop() {
	l.cancel()
	l.cons.Stop()
	<-l.done
}

// Done returns a channel closed once the listener has stopped.
func (l *Listener) Done() <-chan struct{} { return l.done }

// Err returns why the listener stopped by itself (its consumer failed),
// or nil.
func (l *Listener) Err() error { return l.cons.Err() }

func (l *Listener) run(ctx context.Context) {
	defer close(l.done)
	for d := range l.cons.C() {
		l.n.handleMessage(ctx, &d)
	}
}

// handleMessage is Kombu's Node.handle_message: adjust the clock, decide
// whether the command is for this node, run it, reply to a call.
func (n *Node) handleMessage(ctx context.Context, d *conn.Delivery) {
	m := n.m
	if f, ok := number(d.Headers[HeaderClock]); ok && f > 0 {
		m.clock.Adjust(uint64(f))
	} else {
		m.clock.Adjust(0)
	}
	var body map[string]any
	if err := d.Decode(&body); err != nil {
		m.log.Error("pidbox: cannot decode command", "node", n.hostname, "error", err)
		return
	}
	req, err := parseRequest(body, d.Headers)
	if err != nil {
		m.log.Error("pidbox: malformed command", "node", n.hostname, "error", err)
		return
	}
	if ok, err := n.selected(req); !ok {
		if err != nil {
			m.log.Error("pidbox: cannot match command", "node", n.hostname, "error", err)
		}
		return
	}
	res, err := n.run(ctx, req)
	if req.ReplyTo == nil {
		if err != nil {
			m.log.Error("pidbox: cast failed", "node", n.hostname, "method", req.Method, "error", err)
		}
		return
	}
	if err != nil {
		res = map[string]string{"error": err.Error()}
	}
	if err := n.reply(ctx, req, res); err != nil {
		m.log.Error("pidbox: cannot reply", "node", n.hostname, "method", req.Method, "error", err)
	}
}

// selected reports whether req is for this node: its hostname is in the
// destination, or matches the pattern, or neither is given.
func (n *Node) selected(req *Request) (bool, error) {
	switch {
	case len(req.Destination) > 0:
		for _, h := range req.Destination {
			if h == n.hostname {
				return true, nil
			}
		}
		return false, nil
	case req.Pattern != "" && req.Matcher != "":
		re, err := compileMatcher(req.Pattern, req.Matcher)
		if err != nil {
			return false, err
		}
		return re.MatchString(n.hostname), nil
	default:
		return true, nil
	}
}

// run calls the method's handler, turning a panic into an error.
func (n *Node) run(ctx context.Context, req *Request) (res any, err error) {
	n.mu.RLock()
	h := n.handlers[req.Method]
	n.mu.RUnlock()
	if h == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownMethod, req.Method)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("pidbox: handler %q panicked: %v", req.Method, v)
		}
	}()
	return h.HandleCommand(ctx, req)
}

// reply publishes {hostname: res} to the call's reply address, as
// Kombu's Mailbox._publish_reply: the reply exchange declared direct and
// non-durable, transient, with the ticket and clock headers.
func (n *Node) reply(ctx context.Context, req *Request, res any) error {
	m := n.m
	ex := route.Exchange{Name: req.ReplyTo.Exchange, Kind: route.Direct, DeliveryMode: route.Transient}
	opts := []conn.PublishOption{
		conn.WithExchange(ex.Name),
		conn.WithRoutingKey(req.ReplyTo.RoutingKey),
		conn.WithDeliveryMode(route.Transient),
		conn.WithSerializer(m.cfg.Serializer),
		conn.WithHeaders(route.Table{HeaderTicket: req.Ticket, HeaderClock: int64(m.clock.Forward())}),
	}
	if ex.Name != "" {
		opts = append(opts, conn.WithDeclare(ex))
	}
	err := m.prod.Publish(ctx, map[string]any{n.hostname: res}, opts...)
	if errors.Is(err, codec.ErrEncode) || errors.Is(err, codec.ErrUnsupported) {
		res = map[string]string{"error": fmt.Sprintf("pidbox: cannot encode the result of %q: %v", req.Method, err)}
		err = m.prod.Publish(ctx, map[string]any{n.hostname: res}, opts...)
	}
	if errors.Is(err, conn.ErrNotFound) {
		return nil // the caller's reply exchange is gone: nobody waits (Kombu's InconsistencyError)
	}
	return err
}
