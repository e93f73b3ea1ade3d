package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

// busyConn is a connection with a consumer and a confirm-mode channel that
// has publishes in flight, so a fault test can check what each reports.
type busyConn struct {
	conn      transports.Conn
	pub, cons transports.Channel
	sub       transports.Subscription
	confirms  <-chan transports.Confirmation
	published int
}

func startBusy(t *testing.T, ctx context.Context, ctr transports.Connector, name string) *busyConn {
	t.Helper()
	c, err := ctr.Connect(ctx, transports.ConnectOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeConn(t, c) })
	b := &busyConn{conn: c}
	if b.pub, err = c.Channel(ctx); err != nil {
		t.Fatal(err)
	}
	if b.cons, err = c.Channel(ctx); err != nil {
		t.Fatal(err)
	}
	q := declareQueue(t, ctx, b.cons, route.Queue{Name: unique("q"), Durable: true})
	if err := b.cons.Qos(ctx, transports.Qos{PrefetchCount: 10}); err != nil {
		t.Fatal(err)
	}
	if b.sub, err = b.cons.Consume(ctx, transports.ConsumeArgs{Queue: q}); err != nil {
		t.Fatal(err)
	}
	if b.confirms, err = b.pub.(transports.Confirmer).Confirm(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if _, err := b.pub.Publish(ctx, transports.Publishing{RoutingKey: q, Message: transports.Message{
			Body: fmt.Appendf(nil, "m%d", i), Properties: transports.Properties{DeliveryMode: route.Persistent}}}); err != nil {
			t.Fatal(err)
		}
		b.published++
	}
	return b
}

// checkLost checks what a dead connection reports: Done closed, Err
// matching every target, the channels dead with ErrConnLost, the consumer
// ended with ErrConnLost, the confirmations closed and never a nack.
func (b *busyConn) checkLost(t *testing.T, ctx context.Context, targets ...error) {
	t.Helper()
	waitClosed(t, ctx, b.conn.Done(), "Conn.Done")
	wantErr(t, b.conn.Err(), "Conn.Err", append([]error{transports.ErrConnLost}, targets...)...)
	for _, ch := range []transports.Channel{b.pub, b.cons} {
		waitClosed(t, ctx, ch.Done(), "Channel.Done")
		wantErr(t, ch.Err(), "Channel.Err", transports.ErrConnLost)
	}
	for {
		select {
		case _, ok := <-b.sub.Deliveries():
			if ok {
				continue
			}
			wantErr(t, b.sub.Err(), "Subscription.Err", transports.ErrConnLost)
		case <-ctx.Done():
			t.Fatal("Deliveries not closed")
		}
		break
	}
	n := 0
	for {
		select {
		case c, ok := <-b.confirms:
			if ok {
				if !c.Ack {
					t.Fatalf("seq %d reported as nacked when the connection died", c.Seq)
				}
				n++
				continue
			}
		case <-ctx.Done():
			t.Fatal("confirmations not closed")
		}
		break
	}
	if n > b.published {
		t.Fatalf("%d confirmations for %d publishes", n, b.published)
	}
	t.Logf("%d of %d publishes confirmed before the connection died", n, b.published)
	_, err := b.pub.Publish(ctx, transports.Publishing{RoutingKey: "x"})
	wantErr(t, err, "Publish on a dead connection", transports.ErrConnLost)
	_, err = b.conn.Channel(ctx)
	wantErr(t, err, "Channel on a dead connection", transports.ErrConnLost)
}

func TestBrokerClosesConnection(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	ctr, err := transports.OpenConnector(brokerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	name := unique("forced")
	b := startBusy(t, ctx, ctr, name)
	if n := closeConnectionByName(t, name); n != 1 {
		t.Fatalf("closed %d connections named %q, want 1", n, name)
	}
	b.checkLost(t, ctx, transports.ErrConnectionForced)
}

// proxied returns a Connector that dials the broker through p with a
// heartbeat of hb.
func proxied(t *testing.T, p *proxy, hb time.Duration) *amqp.Connector {
	t.Helper()
	cfg := brokerConfig(t)
	cfg.Host, cfg.Port, cfg.Heartbeat = "127.0.0.1", p.port(), hb
	ctr, err := amqp.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ctr
}

func TestNetworkCut(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	cfg := brokerConfig(t)
	p := newProxy(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	b := startBusy(t, ctx, proxied(t, p, time.Second), unique("cut"))
	start := time.Now()
	p.cut()
	b.checkLost(t, ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cut was noticed after %v", d)
	}
}

func TestNetworkBlackHole(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	cfg := brokerConfig(t)
	p := newProxy(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	b := startBusy(t, ctx, proxied(t, p, time.Second), unique("blackhole"))
	slow := proxied(t, p, time.Minute) // its heartbeat will not notice
	sc, err := slow.Connect(ctx, transports.ConnectOptions{Name: unique("blackhole-slow")})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := sc.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sch2, err := sc.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.hold()
	defer p.release()

	const bound = 300 * time.Millisecond
	prompt := func(what string, call func(ctx context.Context) error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, bound)
		defer cancel()
		start := time.Now()
		err := call(cctx)
		if d := time.Since(start); d > bound+2*time.Second {
			t.Errorf("%s took %v with a %v ctx", what, d, bound)
		}
		wantErr(t, err, what, context.DeadlineExceeded)
	}
	prompt("QueueDeclare", func(ctx context.Context) error {
		_, err := sch.QueueDeclare(ctx, route.Queue{Name: unique("never")})
		return err
	})
	// The declare may have reached the broker: the channel is closed.
	waitClosed(t, ctx, sch.Done(), "channel after an interrupted call")
	wantErr(t, sch.Err(), "Err of the interrupted channel", transports.ErrChannelClosed, context.DeadlineExceeded)
	prompt("Channel.Close", func(ctx context.Context) error { return sch2.Close(ctx) })
	prompt("Conn.Channel", func(ctx context.Context) error {
		_, err := sc.Channel(ctx)
		return err
	})
	prompt("Connect", func(ctx context.Context) error {
		_, err := slow.Connect(ctx, transports.ConnectOptions{})
		return err
	})
	prompt("Conn.Close", func(ctx context.Context) error { return sc.Close(ctx) })
	waitClosed(t, ctx, sc.Done(), "Conn.Done after an interrupted Close")
	if !errors.Is(sc.Err(), transports.ErrClosed) {
		t.Errorf("Err after an interrupted Close = %v, want ErrClosed", sc.Err())
	}

	// The busy connection's heartbeat (1s) notices the silence.
	start := time.Now()
	b.checkLost(t, ctx)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the black hole was noticed after %v", d)
	}
}
