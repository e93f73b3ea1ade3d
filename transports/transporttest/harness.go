package transporttest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// harness is the state of one test: its Connector, a context bounding every
// wait, and the names it declared (deleted when the test ends). Its helpers
// fail the test through t and must be called from the test goroutine.
type harness struct {
	t   *testing.T
	f   *Features
	c   transports.Connector
	ctx context.Context

	mu        sync.Mutex
	queues    []string
	exchanges []string
}

// newHarness makes the harness of test t. Its cleanup (deleting what the
// test declared) is registered first, so it runs after every Conn the test
// opened through the harness has been closed.
func newHarness(t *testing.T, f *Features, newConnector func(*testing.T) transports.Connector) *harness {
	t.Helper()
	c := newConnector(t)
	if c == nil {
		t.Fatal("newConnector returned a nil Connector")
	}
	ctx, cancel := context.WithTimeout(t.Context(), f.Timeout)
	h := &harness{t: t, f: f, c: c, ctx: ctx}
	t.Cleanup(func() {
		cancel()
		h.deleteDeclared()
	})
	return h
}

// require skips the test unless the transport has a capability.
func (h *harness) require(have bool, flag string) {
	h.t.Helper()
	if !have {
		h.t.Skipf("needs %s", flag)
	}
}

// fresh returns a context for cleanup work, which runs after h.ctx ends.
func (h *harness) fresh() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.f.Timeout)
}

// name returns a name no other test (or earlier run against the same
// broker) uses, for a queue or exchange.
func (h *harness) name(label string) string {
	return "kelptest." + label + "." + strings.ToLower(rand.Text()[:12])
}

// dial connects without registering a cleanup; most tests use conn.
func (h *harness) dial() (transports.Conn, error) {
	return h.c.Connect(h.ctx, transports.ConnectOptions{Name: h.t.Name()})
}

// conn opens a connection that is closed when the test ends.
func (h *harness) conn() transports.Conn {
	h.t.Helper()
	c, err := h.dial()
	if err != nil {
		h.t.Fatalf("Connect: %v", err)
	}
	if c == nil {
		h.t.Fatal("Connect returned a nil Conn and a nil error")
	}
	h.t.Cleanup(func() { h.closeConn(c) })
	return c
}

// closeConn closes c at the end of a test; a Close that outlives the
// timeout fails the test.
func (h *harness) closeConn(c transports.Conn) {
	ctx, cancel := h.fresh()
	defer cancel()
	if err := c.Close(ctx); err != nil && ctx.Err() != nil {
		h.t.Errorf("Conn.Close did not return within %v: %v", h.f.Timeout, err)
	}
}

// channel opens a channel on c that is closed when the test ends.
func (h *harness) channel(c transports.Conn) transports.Channel {
	h.t.Helper()
	ch, err := c.Channel(h.ctx)
	if err != nil {
		h.t.Fatalf("Conn.Channel: %v", err)
	}
	if ch == nil {
		h.t.Fatal("Conn.Channel returned a nil Channel and a nil error")
	}
	h.t.Cleanup(func() {
		ctx, cancel := h.fresh()
		defer cancel()
		if err := ch.Close(ctx); err != nil && ctx.Err() != nil {
			h.t.Errorf("Channel.Close did not return within %v: %v", h.f.Timeout, err)
		}
	})
	return ch
}

// open returns a new connection and a channel on it.
func (h *harness) open() (transports.Conn, transports.Channel) {
	h.t.Helper()
	c := h.conn()
	return c, h.channel(c)
}

// openQueue opens a connection and a channel, and declares a new queue.
func (h *harness) openQueue() (transports.Channel, string) {
	h.t.Helper()
	_, ch := h.open()
	return ch, h.queue(ch)
}

// track records a queue or exchange for deletion when the test ends.
func (h *harness) track(queue, exchange string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if queue != "" {
		h.queues = append(h.queues, queue)
	}
	if exchange != "" {
		h.exchanges = append(h.exchanges, exchange)
	}
}

// deleteDeclared deletes every queue and exchange the test declared,
// through a connection of its own: the test's channels may be closed or
// broken by then. Failures fail the test unless it failed already.
func (h *harness) deleteDeclared() {
	h.mu.Lock()
	queues, exchanges := h.queues, h.exchanges
	h.mu.Unlock()
	if len(queues)+len(exchanges) == 0 {
		return
	}
	report := h.t.Errorf
	if h.t.Failed() {
		report = h.t.Logf
	}
	ctx, cancel := h.fresh()
	defer cancel()
	c, err := h.c.Connect(ctx, transports.ConnectOptions{Name: h.t.Name() + " cleanup"})
	if err != nil {
		report("cleanup: Connect: %v", err)
		return
	}
	defer func() {
		if err := c.Close(ctx); err != nil {
			report("cleanup: Conn.Close: %v", err)
		}
	}()
	var ch transports.Channel
	del := func(what, name string, do func(transports.Channel) error) {
		if ch == nil || isClosed(ch) {
			if ch, err = c.Channel(ctx); err != nil {
				report("cleanup: Conn.Channel: %v", err)
				ch = nil
				return
			}
		}
		if err := do(ch); err != nil {
			report("cleanup: deleting %s %q: %v", what, name, err)
		}
	}
	for _, q := range queues {
		del("queue", q, func(ch transports.Channel) error {
			_, err := ch.QueueDelete(ctx, q, transports.QueueDeleteOptions{})
			return err
		})
	}
	for _, e := range exchanges {
		del("exchange", e, func(ch transports.Channel) error { return ch.ExchangeDelete(ctx, e, false) })
	}
}

// isClosed reports whether ch's Done is closed.
func isClosed(ch transports.Channel) bool {
	select {
	case <-ch.Done():
		return true
	default:
		return false
	}
}

// done reports whether a Done channel is closed, without waiting.
func done(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waitDone waits for a Done channel to close, failing the test when the
// test's context ends first.
func (h *harness) waitDone(c <-chan struct{}, what string) {
	h.t.Helper()
	select {
	case <-c:
	case <-h.ctx.Done():
		h.t.Fatalf("%s: still open after %v", what, h.f.Timeout)
	}
}

// declareQueue declares q, failing the test on error, and deletes the queue
// when the test ends.
func (h *harness) declareQueue(ch transports.Channel, q route.Queue) transports.QueueInfo {
	h.t.Helper()
	info, err := ch.QueueDeclare(h.ctx, q)
	if err != nil {
		h.t.Fatalf("QueueDeclare(%q): %v", q.Name, err)
	}
	if !q.Passive {
		h.track(info.Name, "")
	}
	if q.Name != "" && info.Name != q.Name {
		h.t.Fatalf("QueueDeclare(%q) reported name %q", q.Name, info.Name)
	}
	return info
}

// queue declares a new transient queue and returns its name.
func (h *harness) queue(ch transports.Channel) string {
	h.t.Helper()
	return h.declareQueue(ch, route.Queue{Name: h.name("q")}).Name
}

// declareExchange declares ex, failing the test on error, and deletes the
// exchange when the test ends.
func (h *harness) declareExchange(ch transports.Channel, ex route.Exchange) {
	h.t.Helper()
	if err := ch.ExchangeDeclare(h.ctx, ex); err != nil {
		h.t.Fatalf("ExchangeDeclare(%q, %s): %v", ex.Name, ex.Kind, err)
	}
	if !ex.Passive {
		h.track("", ex.Name)
	}
}

// exchange declares a new transient exchange of kind and returns its name.
func (h *harness) exchange(ch transports.Channel, kind route.Kind) string {
	h.t.Helper()
	name := h.name(string(kind))
	h.declareExchange(ch, route.Exchange{Name: name, Kind: kind})
	return name
}

// bind binds queue to exchange, failing the test on error.
func (h *harness) bind(ch transports.Channel, queue, exchange, key string, args route.Table) {
	h.t.Helper()
	if err := ch.QueueBind(h.ctx, queue, exchange, key, args); err != nil {
		h.t.Fatalf("QueueBind(%q, %q, %q, %v): %v", queue, exchange, key, args, err)
	}
}

// publish publishes p, failing the test on error, and returns the sequence
// number.
func (h *harness) publish(ch transports.Channel, p transports.Publishing) uint64 {
	h.t.Helper()
	seq, err := ch.Publish(h.ctx, p)
	if err != nil {
		h.t.Fatalf("Publish(exchange %q, key %q): %v", p.Exchange, p.RoutingKey, err)
	}
	return seq
}

// send publishes a message with body to exchange with key.
func (h *harness) send(ch transports.Channel, exchange, key, body string) {
	h.t.Helper()
	h.publish(ch, msg(exchange, key, body))
}

// fill publishes n messages "m-0", "m-1", ... to queue through the
// default exchange and returns their bodies.
func (h *harness) fill(ch transports.Channel, queue string, n int) []string {
	h.t.Helper()
	bodies := numbered("m", n)
	for _, b := range bodies {
		h.send(ch, "", queue, b)
	}
	return bodies
}

// msg returns a Publishing with a body and nothing else.
func msg(exchange, key, body string) transports.Publishing {
	return transports.Publishing{Exchange: exchange, RoutingKey: key, Message: transports.Message{Body: []byte(body)}}
}

// get fetches one message that must be there.
func (h *harness) get(ch transports.Channel, queue string, noAck bool) transports.Delivery {
	h.t.Helper()
	d, ok, err := ch.Get(h.ctx, queue, noAck)
	if err != nil {
		h.t.Fatalf("Get(%q): %v", queue, err)
	}
	if !ok {
		h.t.Fatalf("Get(%q): queue empty, want a message", queue)
	}
	return d
}

// getEmpty checks that queue has no ready message.
func (h *harness) getEmpty(ch transports.Channel, queue string) {
	h.t.Helper()
	d, ok, err := ch.Get(h.ctx, queue, true)
	if err != nil {
		h.t.Fatalf("Get(%q): %v", queue, err)
	}
	if ok {
		h.t.Fatalf("Get(%q) = message %q, want an empty queue", queue, d.Body)
	}
}

// getAll fetches, without acknowledgement, every ready message of queue and
// returns their bodies in the order Get returned them.
func (h *harness) getAll(ch transports.Channel, queue string) []string {
	h.t.Helper()
	var bodies []string
	for {
		d, ok, err := ch.Get(h.ctx, queue, true)
		if err != nil {
			h.t.Fatalf("Get(%q): %v", queue, err)
		}
		if !ok {
			return bodies
		}
		bodies = append(bodies, string(d.Body))
		if len(bodies) > 100000 {
			h.t.Fatalf("Get(%q) never reports an empty queue", queue)
		}
	}
}

// consume starts a consumer, failing the test on error.
func (h *harness) consume(ch transports.Channel, args transports.ConsumeArgs) transports.Subscription {
	h.t.Helper()
	sub, err := ch.Consume(h.ctx, args)
	if err != nil {
		h.t.Fatalf("Consume(%q): %v", args.Queue, err)
	}
	if sub == nil {
		h.t.Fatal("Consume returned a nil Subscription and a nil error")
	}
	return sub
}

// qos sets the prefetch count of consumers started afterwards.
func (h *harness) qos(ch transports.Channel, prefetch int) {
	h.t.Helper()
	if err := ch.Qos(h.ctx, transports.Qos{PrefetchCount: prefetch}); err != nil {
		h.t.Fatalf("Qos(%d): %v", prefetch, err)
	}
}

// next waits for the subscription's next delivery.
func (h *harness) next(sub transports.Subscription) transports.Delivery {
	h.t.Helper()
	select {
	case d, ok := <-sub.Deliveries():
		if !ok {
			h.t.Fatalf("consumer %q ended (Err %v), want a delivery", sub.Tag(), sub.Err())
		}
		return d
	case <-h.ctx.Done():
		h.t.Fatalf("consumer %q: no delivery within %v", sub.Tag(), h.f.Timeout)
	}
	panic("unreachable")
}

// nextN waits for the subscription's next n deliveries.
func (h *harness) nextN(sub transports.Subscription, n int) []transports.Delivery {
	h.t.Helper()
	ds := make([]transports.Delivery, 0, n)
	for range n {
		ds = append(ds, h.next(sub))
	}
	return ds
}

// quiet checks that nothing arrives on the subscription for the quiet
// period.
func (h *harness) quiet(sub transports.Subscription, why string) {
	h.t.Helper()
	timer := time.NewTimer(h.f.Quiet)
	defer timer.Stop()
	select {
	case d, ok := <-sub.Deliveries():
		if !ok {
			h.t.Fatalf("%s: consumer %q ended (Err %v)", why, sub.Tag(), sub.Err())
		}
		h.t.Fatalf("%s: got delivery %q (tag %d)", why, d.Body, d.Tag)
	case <-timer.C:
	}
}

// ended waits for the subscription's Deliveries to close, collecting what
// was still buffered, and returns those deliveries and Err.
func (h *harness) ended(sub transports.Subscription) ([]transports.Delivery, error) {
	h.t.Helper()
	var rest []transports.Delivery
	for {
		select {
		case d, ok := <-sub.Deliveries():
			if !ok {
				return rest, sub.Err()
			}
			rest = append(rest, d)
		case <-h.ctx.Done():
			h.t.Fatalf("consumer %q: Deliveries not closed within %v", sub.Tag(), h.f.Timeout)
		}
	}
}

// ack acknowledges one delivery, failing the test on error.
func (h *harness) ack(ch transports.Channel, tag uint64) {
	h.t.Helper()
	if err := ch.Ack(h.ctx, tag, false); err != nil {
		h.t.Fatalf("Ack(%d): %v", tag, err)
	}
}

// nack rejects one delivery, failing the test on error.
func (h *harness) nack(ch transports.Channel, tag uint64, requeue bool) {
	h.t.Helper()
	if err := ch.Nack(h.ctx, tag, false, requeue); err != nil {
		h.t.Fatalf("Nack(%d, requeue %v): %v", tag, requeue, err)
	}
}

// counts reports a queue's counts through a passive declare.
func (h *harness) counts(ch transports.Channel, queue string) transports.QueueInfo {
	h.t.Helper()
	info, err := ch.QueueDeclare(h.ctx, route.Queue{Name: queue, Passive: true})
	if err != nil {
		h.t.Fatalf("QueueDeclare(%q, passive): %v", queue, err)
	}
	return info
}

// wantCount checks a count the transport reports (see countProblem).
func (h *harness) wantCount(what string, got, want int, exact bool) {
	h.t.Helper()
	if p := countProblem(got, want, exact); p != "" {
		h.t.Errorf("%s %s", what, p)
	}
}

// countProblem describes what is wrong with a reported count: it must
// equal want, or be -1 (unknown) when the transport does not claim exact
// counts. It returns "" when the count is right.
func countProblem(got, want int, exact bool) string {
	switch {
	case got == want, got == -1 && !exact:
		return ""
	case got == -1:
		return fmt.Sprintf("= -1 (unknown), want %d (the Features claim exact counts)", want)
	default:
		return fmt.Sprintf("= %d, want %d", got, want)
	}
}

// wantMessages checks a queue's ready count through passive declares. It
// polls: a broker may count a message some time after Publish returned
// (RabbitMQ answers queue.declare ahead of the publishes still in the
// queue's mailbox, and the SPI promises nothing sooner).
func (h *harness) wantMessages(ch transports.Channel, queue string, want int) {
	h.t.Helper()
	h.settleCount(fmt.Sprintf("QueueDeclare(%q, passive).Messages", queue), want, h.f.MessageCounts,
		func() int { return h.counts(ch, queue).Messages })
}

// wantConsumers checks a queue's consumer count like wantMessages.
func (h *harness) wantConsumers(ch transports.Channel, queue string, want int) {
	h.t.Helper()
	h.settleCount(fmt.Sprintf("QueueDeclare(%q, passive).Consumers", queue), want, h.f.ConsumerCounts,
		func() int { return h.counts(ch, queue).Consumers })
}

// settleCount polls read until the count is right (see countProblem) and
// fails the test with the last count when the test's context ends first.
func (h *harness) settleCount(what string, want int, exact bool, read func() int) {
	h.t.Helper()
	var problem string
	if !h.poll(func() bool {
		problem = countProblem(read(), want, exact)
		return problem == ""
	}) {
		h.t.Fatalf("%s %s (still after %v)", what, problem, h.f.Timeout)
	}
}

// wantErr checks that err matches target.
func (h *harness) wantErr(err, target error, what string) {
	h.t.Helper()
	if err == nil {
		h.t.Fatalf("%s: succeeded, want an error matching %v", what, target)
	}
	if !errors.Is(err, target) {
		h.t.Fatalf("%s: got %v, want an error matching %v", what, err, target)
	}
}

// wantChannelError checks the SPI rule for channel-level broker errors: the
// failing call returns an *Error with target's code (or, for a protocol
// that reports it asynchronously, nil), and the Channel closes with an Err
// wrapping [transports.ErrChannelClosed] and the code; later calls fail with
// ErrChannelClosed.
func (h *harness) wantChannelError(ch transports.Channel, err error, target *transports.Error, what string) {
	h.t.Helper()
	h.wantChannelErrorOf(ch, err, what, target)
}

// wantChannelErrorOf is wantChannelError for an error that may carry any of
// several codes.
func (h *harness) wantChannelErrorOf(ch transports.Channel, err error, what string, targets ...*transports.Error) {
	h.t.Helper()
	matches := func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
	want := codes(targets)
	if err != nil && !matches(err) {
		h.t.Fatalf("%s: got %v, want an error with code %s", what, err, want)
	}
	select {
	case <-ch.Done():
	case <-h.ctx.Done():
		if err == nil {
			h.t.Fatalf("%s: succeeded and the channel stayed open, want error %s", what, want)
		}
		h.t.Fatalf("%s: got %v but the channel stayed open; a channel-level *Error closes the Channel", what, err)
	}
	cerr := ch.Err()
	if !errors.Is(cerr, transports.ErrChannelClosed) || !matches(cerr) {
		h.t.Fatalf("%s: Channel.Err() = %v after the error, want one matching ErrChannelClosed and code %s", what, cerr, want)
	}
	if lerr := ch.Qos(h.ctx, transports.Qos{}); !errors.Is(lerr, transports.ErrChannelClosed) {
		h.t.Fatalf("%s: a later call on the closed channel returned %v, want an error matching ErrChannelClosed", what, lerr)
	}
}

// codes formats the codes of targets as "404" or "403 or 405".
func codes(targets []*transports.Error) string {
	s := make([]string, len(targets))
	for i, t := range targets {
		s[i] = fmt.Sprintf("%d %s", t.Code, t.Reason)
	}
	return strings.Join(s, " or ")
}

// eventually polls cond until it holds, for conditions no signal reports
// (a broker deleting a queue on its own). It fails the test when the
// test's context ends first.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	if !h.poll(cond) {
		h.t.Fatalf("%s: not within %v", what, h.f.Timeout)
	}
}

// poll calls cond, with growing pauses, until it holds (true) or the
// test's context ends (false).
func (h *harness) poll(cond func() bool) bool {
	delay := time.Millisecond
	for !cond() {
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-h.ctx.Done():
			timer.Stop()
			return false
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
	return true
}

// queueExists reports whether queue exists, through a passive declare on a
// channel of its own (a 404 closes it).
func (h *harness) queueExists(c transports.Conn, queue string) bool {
	h.t.Helper()
	return h.exists(c, "queue "+queue, func(ch transports.Channel) error {
		_, err := ch.QueueDeclare(h.ctx, route.Queue{Name: queue, Passive: true})
		return err
	})
}

// exchangeExists reports whether exchange exists, like queueExists.
func (h *harness) exchangeExists(c transports.Conn, exchange string) bool {
	h.t.Helper()
	return h.exists(c, "exchange "+exchange, func(ch transports.Channel) error {
		return ch.ExchangeDeclare(h.ctx, route.Exchange{Name: exchange, Kind: route.Direct, Passive: true})
	})
}

// exists runs a passive declare on a fresh channel of c: nil means the
// entity exists, 404 that it does not; other errors fail the test.
func (h *harness) exists(c transports.Conn, what string, passive func(transports.Channel) error) bool {
	h.t.Helper()
	ch, err := c.Channel(h.ctx)
	if err != nil {
		h.t.Fatalf("Conn.Channel: %v", err)
	}
	defer func() {
		ctx, cancel := h.fresh()
		defer cancel()
		_ = ch.Close(ctx)
	}()
	switch err := passive(ch); {
	case err == nil:
		return true
	case errors.Is(err, transports.ErrNotFound):
		return false
	default:
		h.t.Fatalf("passive declare of %s: %v", what, err)
		return false
	}
}

// waitQueueGone waits until the broker has deleted queue by itself.
func (h *harness) waitQueueGone(c transports.Conn, queue, why string) {
	h.t.Helper()
	h.eventually(why, func() bool { return !h.queueExists(c, queue) })
}

// waitExchangeGone waits until the broker has deleted exchange by itself.
func (h *harness) waitExchangeGone(c transports.Conn, exchange, why string) {
	h.t.Helper()
	h.eventually(why, func() bool { return !h.exchangeExists(c, exchange) })
}

// capability skips the test unless the Features flag is set, and then
// returns v as the optional SPI interface T, failing the test when v does
// not implement it.
func capability[T any](h *harness, v any, have bool, flag string) T {
	h.t.Helper()
	h.require(have, flag)
	c, ok := v.(T)
	if !ok {
		h.t.Fatalf("%s is set but %T does not implement %v", flag, v, reflect.TypeFor[T]())
	}
	return c
}

// bodies returns the bodies of ds as strings, in order.
func bodies(ds []transports.Delivery) []string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d.Body)
	}
	return s
}

// sameSet reports whether a and b hold the same strings, in any order. It
// does not change them.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// numbered returns n bodies prefix-0, prefix-1, ...
func numbered(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return s
}
