package amqp_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

func TestConnectAnnouncesKelp(t *testing.T) {
	ctx := testCtx(t, 15*time.Second)
	name := unique("conn-name")
	c, err := connectURL(ctx, brokerURL(t), name)
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(t, c)
	conns := brokerConnections(t, name)
	if len(conns) != 1 {
		t.Fatalf("the broker has %d connections named %q, want 1", len(conns), name)
	}
	var props string
	for _, p := range conns {
		props = p
	}
	for _, want := range []string{`{"product","kelp"}`, `{"platform","Go go1.`, `{"version","`, `{"information","https://github.com/kelpmq/kelp"}`} {
		if !strings.Contains(props, want) {
			t.Errorf("client properties of %q lack %s:\n%s", name, want, props)
		}
	}
}

func TestConnectRefusedLogin(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	cfg := brokerConfig(t)
	cfg.Password = "not-the-password-hunter2"
	ctr, err := amqp.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ctr.Connect(ctx, transports.ConnectOptions{})
	wantErr(t, err, "Connect with a wrong password", transports.ErrAccessRefused)
	if errors.Is(err, transports.ErrConnLost) {
		t.Errorf("a refused login must not read as a lost connection: %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close() // nothing listens there now
	ctr, err := amqp.NewConnector(amqp.Config{Host: "127.0.0.1", Port: addr.Port})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ctr.Connect(ctx, transports.ConnectOptions{})
	wantErr(t, err, "Connect to a closed port", transports.ErrConnLost)
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("the dial error is not wrapped: %v", err)
	}
}

// silentListener accepts connections and never answers, like a broker
// that hangs in the handshake.
func silentListener(t *testing.T) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr)
}

func TestConnectHandshakeBounded(t *testing.T) {
	addr := silentListener(t)
	for _, tc := range []struct {
		name    string
		timeout time.Duration // Config.ConnectTimeout
		ctx     time.Duration // ctx deadline
	}{
		{"ctx", time.Minute, 200 * time.Millisecond},
		{"ConnectTimeout", 200 * time.Millisecond, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctr, err := amqp.NewConnector(amqp.Config{Host: "127.0.0.1", Port: addr.Port, ConnectTimeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctx)
			defer cancel()
			start := time.Now()
			_, err = ctr.Connect(ctx, transports.ConnectOptions{})
			wantErr(t, err, "Connect to a silent server", transports.ErrConnLost, context.DeadlineExceeded)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Connect took %v, want about 200ms", d)
			}
		})
	}
}

func TestConnCloseIsFinal(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	c, err := connectURL(ctx, brokerURL(t), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err of a live conn = %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitClosed(t, ctx, c.Done(), "Conn.Done after Close")
	if !errors.Is(c.Err(), transports.ErrClosed) {
		t.Errorf("Conn.Err after Close = %v, want ErrClosed", c.Err())
	}
	waitClosed(t, ctx, ch.Done(), "Channel.Done after Conn.Close")
	if !errors.Is(ch.Err(), transports.ErrClosed) {
		t.Errorf("Channel.Err after Conn.Close = %v, want ErrClosed", ch.Err())
	}
	_, err = c.Channel(ctx)
	wantErr(t, err, "Channel after Close", transports.ErrClosed)
	err = ch.Qos(ctx, transports.Qos{PrefetchCount: 1})
	wantErr(t, err, "a call on a channel of a closed conn", transports.ErrClosed)
	if err := ch.Close(ctx); err != nil {
		t.Errorf("Channel.Close after Conn.Close: %v", err)
	}
	if _, ok := <-ch.(transports.Returner).Returns(); ok {
		t.Error("Returns not closed")
	}
	if _, ok := <-c.(transports.BlockNotifier).Blocked(); ok {
		t.Error("Blocked not closed")
	}
}

func TestChannelCloseIsFinal(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	c, ch := open(t, ctx)
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := ch.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !errors.Is(ch.Err(), transports.ErrClosed) {
		t.Errorf("Err after Close = %v", ch.Err())
	}
	if _, ok := <-confirms; ok {
		t.Error("confirmations not closed")
	}
	_, err = ch.Publish(ctx, transports.Publishing{RoutingKey: "x"})
	wantErr(t, err, "Publish after Close", transports.ErrClosed)
	if c.Err() != nil {
		t.Errorf("closing a channel hurt the conn: %v", c.Err())
	}
}
