package rpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/rpc"
	"github.com/kelpmq/kelp/transports"
)

// On RabbitMQ the client uses direct reply-to and declares no queue;
// elsewhere it declares a reply queue of its own.
func TestReplyAddress(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		spy := &declareSpy{Connector: b.Connector()}
		c, err := conn.Open(testCtx(t), spy, conn.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		srv := b.Dial(t)
		q := b.Queue(t, "rpc-addr")
		var seen atomic.Value
		serve(t, srv, q, func(_ context.Context, d *conn.Delivery) (any, error) {
			seen.Store(d.ReplyTo)
			return "ok", nil
		})
		cl := newClient(t, c)
		var resp string
		if err := cl.Call(testCtx(t), q.Name, 1, &resp); err != nil || resp != "ok" {
			t.Fatalf("Call: %q %v", resp, err)
		}
		replyTo, _ := seen.Load().(string)
		declared := spy.declared()
		if b.Name() == "amqp" {
			if cl.ReplyQueue() != rpc.DirectReplyTo || !strings.HasPrefix(replyTo, rpc.DirectReplyTo+".") {
				t.Errorf("reply-to %q (client says %q), want RabbitMQ's direct reply-to", replyTo, cl.ReplyQueue())
			}
			if len(declared) != 0 {
				t.Errorf("the client declared %q; direct reply-to needs no queue", declared)
			}
			return
		}
		if !strings.HasPrefix(replyTo, "kelp.rpc.reply.") || replyTo != cl.ReplyQueue() {
			t.Errorf("reply-to %q, client's queue %q", replyTo, cl.ReplyQueue())
		}
		if len(declared) != 1 || declared[0] != replyTo {
			t.Errorf("declared %q, want the reply queue %q", declared, replyTo)
		}
	})
}

// On RabbitMQ, NoDirectReplyTo and ReplyQueue bring back the reply queue.
func TestNoDirectReplyTo(t *testing.T) {
	b := brokertest.Open(t, "amqp", brokerConfig)
	c := b.Dial(t)
	q := b.Queue(t, "rpc-nodirect")
	serve(t, c, q, adder)
	for _, cfg := range []rpc.ClientConfig{{NoDirectReplyTo: true}, {ReplyQueue: brokertest.Unique("kelp.it.rpc-reply")}} {
		cl, err := rpc.NewClient(testCtx(t), c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var resp addResp
		if err := cl.Call(testCtx(t), q.Name, addReq{1, 2}, &resp); err != nil || resp.Sum != 3 {
			t.Errorf("%+v: Call: %+v %v", cfg, resp, err)
		}
		if name := cl.ReplyQueue(); name == rpc.DirectReplyTo || cfg.ReplyQueue != "" && name != cfg.ReplyQueue {
			t.Errorf("%+v: reply queue %q", cfg, name)
		}
		if err := cl.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// A call waiting on direct reply-to when the connection is lost fails
// with ErrReplyLost; the next call goes out on a new channel and works.
func TestDirectReplyToReconnect(t *testing.T) {
	b := brokertest.Open(t, "amqp", brokerConfig)
	srv := b.Dial(t)
	q := b.Queue(t, "rpc-lost")
	release, started := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	serve(t, srv, q, func(ctx context.Context, d *conn.Delivery) (any, error) {
		if calls.Add(1) == 1 {
			close(started)
			select { // hold the first request until its caller gave up
			case <-release:
			case <-ctx.Done():
			}
		}
		return "done", nil
	})

	px := newCutProxy(t, b.URL())
	c, err := conn.Dial(testCtx(t), px.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	cl := newClient(t, c)

	errc := make(chan error, 1)
	go func() { errc <- cl.Call(testCtx(t), q.Name, 1, nil) }()
	<-started // the request is being handled
	px.cut()
	err = <-errc
	close(release)
	if !errors.Is(err, rpc.ErrReplyLost) {
		t.Fatalf("Call across a lost connection: %v, want ErrReplyLost", err)
	}
	var resp string
	if err := cl.Call(testCtx(t), q.Name, 2, &resp); err != nil || resp != "done" {
		t.Fatalf("Call after the reconnect: %q %v", resp, err)
	}
	if c.Epoch() < 2 {
		t.Errorf("epoch %d: the connection did not reconnect", c.Epoch())
	}
}

// declareSpy records the queues declared through its connections.
type declareSpy struct {
	transports.Connector
	mu     sync.Mutex
	queues []string
}

func (s *declareSpy) declared() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queues...)
}

func (s *declareSpy) Connect(ctx context.Context, o transports.ConnectOptions) (transports.Conn, error) {
	tc, err := s.Connector.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	return spyConn{tc, s}, nil
}

type spyConn struct {
	transports.Conn
	spy *declareSpy
}

func (c spyConn) Channel(ctx context.Context) (transports.Channel, error) {
	ch, err := c.Conn.Channel(ctx)
	if err != nil {
		return nil, err
	}
	return spyChannel{ch, c.spy}, nil
}

type spyChannel struct {
	transports.Channel
	spy *declareSpy
}

func (c spyChannel) QueueDeclare(ctx context.Context, q route.Queue) (transports.QueueInfo, error) {
	c.spy.mu.Lock()
	c.spy.queues = append(c.spy.queues, q.Name)
	c.spy.mu.Unlock()
	return c.Channel.QueueDeclare(ctx, q)
}

// Confirm keeps publisher confirms where the wrapped channel has them.
func (c spyChannel) Confirm(ctx context.Context) (<-chan transports.Confirmation, error) {
	if cf, ok := c.Channel.(transports.Confirmer); ok {
		return cf.Confirm(ctx)
	}
	return nil, transports.ErrUnsupported
}

// cutProxy forwards TCP connections to a broker and cuts them all on
// demand; it keeps accepting new ones.
type cutProxy struct {
	url   string
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, brokerURL string) *cutProxy {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = l.Addr().String()
	px := &cutProxy{url: u.String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		px.cut()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			px.mu.Lock()
			px.conns = append(px.conns, in, out)
			px.mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
			wg.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
		}
	})
	return px
}

// cut closes every connection made so far.
func (px *cutProxy) cut() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for _, c := range px.conns {
		_ = c.Close()
	}
	px.conns = nil
}
