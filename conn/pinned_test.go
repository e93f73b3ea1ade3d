package conn_test

import (
	"errors"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/route"
)

// A Pinned consumes and publishes on one channel, on every broker.
func TestPinnedConsumePublish(t *testing.T) {
	brokertest.Run(t, cancelBrokers, func(t *testing.T, b *brokertest.Target) {
		c := b.Dial(t)
		q := b.Queue(t, "pinned")
		if err := c.Declare(testCtx(t), q); err != nil {
			t.Fatal(err)
		}
		p, err := c.Pin(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if p.Scheme() != b.Name() && !(b.Name() == "amqp" && p.Scheme() == "amqps") {
			t.Errorf("Scheme %q on %s", p.Scheme(), b.Name())
		}
		if p.Epoch() != c.Epoch() || p.Err() != nil {
			t.Errorf("Epoch %d (connection %d), Err %v", p.Epoch(), c.Epoch(), p.Err())
		}
		ds, err := p.Consume(testCtx(t), q.Name, conn.WithPrefetch(1))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(testCtx(t), "hello", conn.WithRoutingKey(q.Name)); err != nil {
			t.Fatal(err)
		}
		d := <-ds
		var s string
		if err := d.Decode(&s); err != nil || s != "hello" {
			t.Fatalf("got %q %v", s, err)
		}
		if err := d.Ack(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(testCtx(t), 1, conn.WithRetry(conn.RetryPolicy{})); !errors.Is(err, conn.ErrInvalidOption) {
			t.Errorf("Publish WithRetry: %v, want ErrInvalidOption", err)
		}
		p.Close()
		p.Close()
		if _, ok := <-ds; ok {
			t.Error("deliveries still open after Close")
		}
		if err := p.Publish(testCtx(t), 1, conn.WithRoutingKey(q.Name)); !errors.Is(err, conn.ErrClosed) {
			t.Errorf("Publish after Close: %v, want ErrClosed", err)
		}
	})
}

// A Pinned does not survive a reconnect: it reports the loss, its
// subscriptions end, and a new one works in the new epoch.
func TestPinnedLostOnReconnect(t *testing.T) {
	b, c := open(t, conn.Config{})
	q := route.NewQueue("pinned-lost")
	if err := c.Declare(testCtx(t), q); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pin(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ds, err := p.Consume(testCtx(t), q.Name)
	if err != nil {
		t.Fatal(err)
	}
	b.DropConnections("")
	<-p.Done()
	if _, ok := <-ds; ok {
		t.Error("deliveries still open after the connection was lost")
	}
	if err := p.Err(); !errors.Is(err, conn.ErrChannelClosed) || !errors.Is(err, conn.ErrConnectionLost) {
		t.Errorf("Err %v, want ErrChannelClosed and ErrConnectionLost", err)
	}
	if err := p.Publish(testCtx(t), 1, conn.WithRoutingKey(q.Name)); !errors.Is(err, conn.ErrChannelClosed) {
		t.Errorf("Publish on a lost Pinned: %v, want ErrChannelClosed", err)
	}
	p2, err := c.Pin(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if p2.Epoch() <= p.Epoch() {
		t.Errorf("new Pinned in epoch %d, the lost one was in %d", p2.Epoch(), p.Epoch())
	}
	if err := p2.Publish(testCtx(t), 1, conn.WithRoutingKey(q.Name)); err != nil {
		t.Fatal(err)
	}
}

// Pin on a closed connection fails with ErrClosed.
func TestPinClosed(t *testing.T) {
	_, c := open(t, conn.Config{})
	if err := c.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pin(testCtx(t)); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("Pin after Close: %v, want ErrClosed", err)
	}
}
