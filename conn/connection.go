package conn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/internal/actor"
	"github.com/kelpmq/kelp/transports"
)

// Connection is a self-healing connection to a broker: an actor that owns
// the transport connection, reconnects with backoff across the failover
// list, replays the topology declared through it and resumes its
// consumers. See the package documentation for the full contract.
//
// A Connection is safe for concurrent use. Close it with
// [Connection.Close].
type Connection struct {
	cfg        settings
	connectors []transports.Connector
	act        *actor.Actor
	state      *watch
	epoch      atomic.Uint64
	window     chan struct{} // unconfirmed-publish slots, shared by publisher channels
	pubs       gate          // publishes in flight

	// Owned by the actor goroutine.
	sess     *session
	topo     topology
	declared map[string]struct{} // MaybeDeclare cache, cleared on reconnect
	next     int                 // failover position

	mu        sync.Mutex
	consumers map[*Consumer]struct{}
	tags      atomic.Uint64 // consumer tag sequence

	closing  atomic.Bool
	closeCtx atomic.Pointer[context.Context] // the ctx of Close, for the final teardown
	closed   chan struct{}
	hookDone chan struct{}
}

// session is one live transport connection and the channels opened on it.
type session struct {
	epoch uint64
	tconn transports.Conn
	pubs  []atomic.Pointer[channel] // the publisher channels, opened lazily (Config.PublishChannels)
	turn  atomic.Uint64             // round-robin position over pubs

	// Owned by the connection actor.
	ctl, get *channel
	all      []*channel
}

// Dial connects to the broker at rawURL (see [ParseURL]) with the zero
// [Config]; see [DialConfig].
func Dial(ctx context.Context, rawURL string) (*Connection, error) {
	return DialConfig(ctx, rawURL, Config{})
}

// DialConfig parses rawURL (one URL or a ';'-separated failover list),
// finds the driver of each scheme in the [transports] registry and opens a
// connection as [Open] does. Settings in the URL's query
// (failover_strategy, connect_timeout) apply where cfg leaves the field at
// its zero value. An unknown scheme fails with an error matching
// [transports.ErrUnknownScheme] that names the driver packages to import.
// Errors never contain a password.
func DialConfig(ctx context.Context, rawURL string, cfg Config) (*Connection, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if cfg.Failover == RoundRobin {
		cfg.Failover = u.Failover
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = u.ConnectTimeout
	}
	cs := make([]transports.Connector, 0, len(u.Addrs))
	for _, a := range u.Addrs {
		cn, err := transports.OpenConnector(a)
		if err != nil {
			return nil, fmt.Errorf("conn: dial: %w", err)
		}
		cs = append(cs, cn)
	}
	return open(ctx, cs, cfg)
}

// Open starts a connection over connector with cfg and waits, bounded by
// ctx, until it is open. The first attempts are retried with the reconnect
// backoff until ctx ends, except when every address failed in a way that
// retrying cannot heal, which fails at once: a refused login
// ([ErrAccessRefused]), a refused virtual host ([transports.ErrNotAllowed],
// RabbitMQ's 530), a host name no resolver knows (a [*net.DNSError] with
// IsNotFound), or a TLS handshake that cannot succeed (TLS spoken to a
// plaintext port, a [tls.RecordHeaderError]; a certificate that does not
// verify, a [*tls.CertificateVerificationError]). Once the connection was
// open, reconnects retry every error until it is closed. When ctx ends
// first, Open gives up, closes what it started and returns an error
// matching ctx's error and carrying the last attempt's error.
func Open(ctx context.Context, connector transports.Connector, cfg Config) (*Connection, error) {
	if connector == nil {
		return nil, fmt.Errorf("%w: nil connector", ErrInvalidConfig)
	}
	return open(ctx, []transports.Connector{connector}, cfg)
}

func open(ctx context.Context, cs []transports.Connector, cfg Config) (*Connection, error) {
	s, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Connection{
		cfg:        s,
		connectors: cs,
		act:        actor.New(256),
		state:      newWatch(),
		window:     make(chan struct{}, s.ConfirmWindow),
		declared:   map[string]struct{}{},
		consumers:  map[*Consumer]struct{}{},
		closed:     make(chan struct{}),
		hookDone:   make(chan struct{}),
	}
	c.pubs.init()
	if s.OnStateChange != nil {
		go c.runHook()
	} else {
		close(c.hookDone)
	}
	c.act.Start(context.Background(), c.run)
	snap, err := c.state.wait(ctx, func(v snapshot) bool {
		return v.State == StateOpen || v.State == StateBlocked || v.State == StateClosed
	})
	if err != nil {
		last := snap.Err
		_ = c.Close(context.WithoutCancel(ctx))
		if last != nil {
			return nil, fmt.Errorf("conn: open: %w (last attempt: %w)", err, last)
		}
		return nil, fmt.Errorf("conn: open: %w", err)
	}
	if snap.State == StateClosed {
		_ = c.Close(ctx)
		return nil, fmt.Errorf("conn: open: %w", snap.Err)
	}
	return c, nil
}

// State returns the connection's current state. It never blocks.
func (c *Connection) State() State {
	v, _ := c.state.load()
	return v.State
}

// Epoch returns the number of successful connections so far: 1 after the
// first, bumped by every reconnect. Deliveries carry the epoch they
// arrived in. It never blocks.
func (c *Connection) Epoch() uint64 { return c.epoch.Load() }

// WaitState blocks until the connection is in one of states, or ctx ends,
// and returns the state reached.
func (c *Connection) WaitState(ctx context.Context, states ...State) (State, error) {
	return c.state.waitState(ctx, states)
}

// Err returns why the connection closed itself (reconnecting gave up), or
// nil.
func (c *Connection) Err() error {
	v, _ := c.state.load()
	if v.State == StateClosed {
		return v.Err
	}
	return nil
}

// Done returns a channel that is closed once the connection is closed.
func (c *Connection) Done() <-chan struct{} { return c.act.Done() }

// run is the connection actor's owner loop: dial, replay, serve, and again
// after every loss, until the actor is stopped.
func (c *Connection) run(ctx context.Context) (err error) {
	defer func() {
		v, _ := c.state.load()
		if ctx.Err() != nil {
			err = nil
		}
		c.state.set(snapshot{StateChange: StateChange{State: StateClosed, Epoch: v.Epoch, Err: err}})
	}()
	var lastErr error
	for first := true; ; first = false {
		tc, err := c.dial(ctx, first, lastErr)
		if err != nil {
			return err
		}
		epoch := c.epoch.Add(1)
		clear(c.declared)
		if err := c.replay(ctx, tc); err != nil {
			closeQuietly(ctx, tc)
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			lastErr = err
			continue
		}
		sess := &session{epoch: epoch, tconn: tc, pubs: make([]atomic.Pointer[channel], c.cfg.PublishChannels)}
		c.sess = sess
		c.state.set(snapshot{StateChange: StateChange{State: StateOpen, Epoch: epoch}, sess: sess})
		c.cfg.Logger.Info("conn: connected", "epoch", epoch)
		lastErr = c.serve(ctx, sess)
		c.sess = nil
		if ctx.Err() == nil {
			c.cfg.Logger.Warn("conn: connection lost; reconnecting", "epoch", epoch, "err", lastErr)
			c.state.set(snapshot{StateChange: StateChange{State: StateReconnecting, Epoch: epoch, Err: lastErr}})
		}
		c.teardown(ctx, sess)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
	}
}

// dial connects, walking the failover list in rounds with backoff between
// failed rounds.
func (c *Connection) dial(ctx context.Context, first bool, lastErr error) (transports.Conn, error) {
	st := StateReconnecting
	if first {
		st = StateConnecting
	}
	epoch := c.epoch.Load()
	c.state.set(snapshot{StateChange: StateChange{State: st, Epoch: epoch, Err: lastErr}})
	pol := c.cfg.Reconnect.policy()
	pol.OnRestart = func(attempt int, err error, delay time.Duration) {
		c.cfg.Logger.Warn("conn: connect failed; retrying", "attempt", attempt, "delay", delay, "err", err)
		c.state.set(snapshot{StateChange: StateChange{State: st, Epoch: epoch, Err: err}})
	}
	var tc transports.Conn
	err := actor.Supervise(ctx, pol, func(ctx context.Context) error {
		var err error
		tc, err = c.dialRound(ctx, first)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// dialRound tries every connector once, in failover order.
func (c *Connection) dialRound(ctx context.Context, first bool) (transports.Conn, error) {
	n := len(c.connectors)
	order := make([]int, n)
	for i := range order {
		order[i] = (c.next + i) % n
	}
	if c.cfg.Failover == Shuffle {
		rand.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var errs []error
	for _, i := range order {
		cn := c.connectors[i]
		cctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
		tc, err := cn.Connect(cctx, transports.ConnectOptions{Name: c.cfg.Name, Logger: c.cfg.Logger})
		cancel()
		if err == nil {
			c.next = (i + 1) % n
			return tc, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		err = fmt.Errorf("conn: connect %s: %w", cn.Address(), wrapErr(err))
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if first && !slices.ContainsFunc(errs, func(err error) bool { return !cannotHeal(err) }) {
		return nil, actor.Permanent(err)
	}
	return nil, err
}

// serve runs the actor's mailbox while sess lives.
func (c *Connection) serve(ctx context.Context, sess *session) error {
	blocked := blockedOf(sess.tconn)
	for {
		select {
		case r := <-c.act.Mailbox():
			r.Run()
		case b, ok := <-blocked:
			if !ok {
				blocked = nil
				continue
			}
			st := StateOpen
			if b.Active {
				st = StateBlocked
				c.cfg.Logger.Warn("conn: broker blocked publishing", "reason", b.Reason)
			}
			c.state.set(snapshot{StateChange: StateChange{State: st, Epoch: sess.epoch}, sess: sess})
		case <-sess.tconn.Done():
			return wrapErr(sess.tconn.Err())
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// teardown stops the channels of a finished session and closes its
// transport connection (gracefully when the connection is being closed).
func (c *Connection) teardown(ctx context.Context, sess *session) {
	for _, ch := range sess.all {
		ch.act.Stop(nil)
	}
	for _, ch := range sess.all {
		_ = ch.act.Wait()
	}
	cctx := ctx
	if p := c.closeCtx.Load(); p != nil {
		cctx = *p
	}
	closeQuietly(cctx, sess.tconn)
}

// runHook calls Config.OnStateChange with every state observed.
func (c *Connection) runHook() {
	defer close(c.hookDone)
	var last StateChange
	seen := false
	for {
		v, changed := c.state.load()
		if !seen || v.StateChange != last {
			seen, last = true, v.StateChange
			c.cfg.OnStateChange(v.StateChange)
		}
		if v.State == StateClosed {
			return
		}
		<-changed
	}
}

// awaitSession waits until the connection is open in an epoch of at least
// minEpoch and returns the session. With publish it also waits while the
// broker blocks publishing. It fails with [ErrClosed] once the connection
// is closing.
func (c *Connection) awaitSession(ctx context.Context, minEpoch uint64, publish bool) (*session, error) {
	v, err := c.state.wait(ctx, func(v snapshot) bool {
		switch v.State {
		case StateClosing, StateClosed:
			return true
		case StateOpen:
			return v.sess != nil && v.Epoch >= minEpoch
		case StateBlocked:
			return !publish && v.sess != nil && v.Epoch >= minEpoch
		}
		return false
	})
	switch {
	case err != nil:
		if v.State == StateBlocked {
			return nil, fmt.Errorf("%w (the broker is blocking publishers)", err)
		}
		if v.Err != nil && (v.State == StateReconnecting || v.State == StateConnecting) {
			return nil, fmt.Errorf("%w (reconnecting: %w)", err, v.Err)
		}
		return nil, err
	case v.State == StateClosing || v.State == StateClosed:
		return nil, ErrClosed
	}
	return v.sess, nil
}

// publishableNow reports, without waiting, why a publish could not go
// out right now: [ErrBlocked] while the broker blocks publishers,
// [ErrConnectionLost] while connecting or reconnecting, [ErrClosed] once
// closing; nil when the connection is open.
func (c *Connection) publishableNow() error {
	v, _ := c.state.load()
	switch v.State {
	case StateOpen:
		return nil
	case StateBlocked:
		return ErrBlocked
	case StateClosing, StateClosed:
		return ErrClosed
	}
	if v.Err != nil {
		return fmt.Errorf("%w: %s (%w)", ErrConnectionLost, v.State, v.Err)
	}
	return fmt.Errorf("%w: %s", ErrConnectionLost, v.State)
}

// chanSlot names the shared channels of a session.
type chanSlot int

const (
	slotPub chanSlot = iota // publishing, in confirm mode
	slotCtl                 // declarations, deletes, purges
	slotGet                 // basic.get and its settles
)

// errSessionGone makes sessionChannel wait for the next session.
var errSessionGone = errors.New("conn: session gone")

// sessionChannel returns a live shared channel of the current session,
// opening it if needed. Publishers take the publisher channels in turns.
func (c *Connection) sessionChannel(ctx context.Context, slot chanSlot) (*channel, error) {
	for {
		sess, err := c.awaitSession(ctx, 0, slot == slotPub)
		if err != nil {
			return nil, err
		}
		var pub *atomic.Pointer[channel]
		if slot == slotPub {
			pub = sess.nextPub()
			if ch := pub.Load(); ch != nil && !ch.dead() {
				return ch, nil
			}
		}
		ch, err := actor.Call(ctx, c.act, func() (*channel, error) {
			if c.sess != sess {
				return nil, errSessionGone
			}
			p := &sess.ctl
			switch slot {
			case slotGet:
				p = &sess.get
			case slotPub:
				if ch := pub.Load(); ch != nil && !ch.dead() {
					return ch, nil
				}
			}
			if slot != slotPub && *p != nil && !(*p).dead() {
				return *p, nil
			}
			ch, err := newChannel(ctx, c, sess, slot == slotPub)
			if err != nil {
				return nil, err
			}
			sess.add(ch)
			if slot == slotPub {
				pub.Store(ch)
			} else {
				*p = ch
			}
			return ch, nil
		})
		if errors.Is(err, errSessionGone) {
			if err := c.waitNewSession(ctx, sess); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, c.actErr(ctx, err)
		}
		return ch, nil
	}
}

// nextPub returns the publisher channel slot whose turn it is.
func (s *session) nextPub() *atomic.Pointer[channel] {
	return &s.pubs[(s.turn.Add(1)-1)%uint64(len(s.pubs))]
}

// waitNewSession waits until the snapshot no longer shows sess.
func (c *Connection) waitNewSession(ctx context.Context, sess *session) error {
	_, err := c.state.wait(ctx, func(v snapshot) bool { return v.sess != sess })
	return err
}

// add records a channel of the session, forgetting dead ones.
func (s *session) add(ch *channel) {
	kept := s.all[:0]
	for _, o := range s.all {
		if !o.dead() {
			kept = append(kept, o)
		} else {
			o.act.Stop(nil)
		}
	}
	s.all = append(kept, ch)
}

// actErr maps an error of a call on the connection actor.
func (c *Connection) actErr(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && (errors.Is(err, ctx.Err()) || errors.Is(err, actor.ErrOutcomeUnknown)):
		return fmt.Errorf("%w: %w", ctxErr(ctx), err)
	case errors.Is(err, actor.ErrStopped):
		return ErrClosed
	}
	return wrapErr(err)
}

// do runs fn on the connection actor.
func (c *Connection) do(ctx context.Context, fn func()) error {
	return c.actErr(ctx, c.act.Do(ctx, fn))
}

// Close closes the connection gracefully, bounded by ctx: it stops every
// consumer as [Consumer.Drain] does (in-flight deliveries may still be
// settled until ctx ends; the rest are requeued), waits for outstanding
// publish confirmations, then closes the transport connection. New calls
// fail with [ErrClosed] from the start. Close is idempotent: later calls
// wait for the first to finish and return nil. It returns ctx's error if
// draining did not finish in time (the connection is closed anyway).
func (c *Connection) Close(ctx context.Context) error {
	if !c.closing.CompareAndSwap(false, true) {
		select {
		case <-c.closed:
			return nil
		case <-ctx.Done():
			return ctxErr(ctx)
		}
	}
	v, _ := c.state.load()
	c.state.set(snapshot{StateChange: StateChange{State: StateClosing, Epoch: v.Epoch}, sess: v.sess})
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, cons := range c.consumerList() {
		wg.Go(func() {
			if err := cons.Drain(ctx); err != nil && !errors.Is(err, ErrClosed) {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := c.pubs.close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("conn: waiting for publish confirmations: %w", err))
	}
	c.closeCtx.Store(&ctx)
	c.act.Stop(ErrClosed)
	_ = c.act.Wait()
	c.state.set(snapshot{StateChange: StateChange{State: StateClosed, Epoch: c.epoch.Load()}})
	<-c.hookDone
	close(c.closed)
	return errors.Join(errs...)
}

// register and unregister track consumers for Close.
func (c *Connection) register(cons *Consumer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() {
		return ErrClosed
	}
	c.consumers[cons] = struct{}{}
	return nil
}

func (c *Connection) unregister(cons *Consumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.consumers, cons)
}

func (c *Connection) consumerList() []*Consumer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Consumer, 0, len(c.consumers))
	for k := range c.consumers {
		out = append(out, k)
	}
	return out
}

// gate counts operations in flight and lets Close wait for them.
type gate struct {
	mu     sync.Mutex
	n      int
	closed bool
	zero   chan struct{} // closed when n drops to 0 after close
}

func (g *gate) init() { g.zero = make(chan struct{}) }

// enter admits an operation; false once the gate is closed.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// leave ends an operation.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closed && g.n == 0 {
		close(g.zero)
	}
}

// close refuses new operations and waits, bounded by ctx, for those in
// flight.
func (g *gate) close(ctx context.Context) error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		if g.n == 0 {
			close(g.zero)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.zero:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}
