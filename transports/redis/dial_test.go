package redis_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// TestDialStopsAtClose connects with TLS to a server that accepts and
// never answers (as Redis does to a ClientHello on its plaintext port),
// with a long connect timeout and a short ctx: Connect fails at the ctx,
// and no dialling goroutine outlives it. go-redis dials on a goroutine
// that the caller's ctx does not stop, so without the driver's own
// dialer the handshake would go on for the whole connect timeout.
func TestDialStopsAtClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c // keep it open and silent
		}
	}()
	defer func() {
		ln.Close()
		for c := range held {
			c.Close()
		}
	}()
	before := goleak.IgnoreCurrent()

	cfg, err := redis.ParseURL("rediss://" + ln.Addr().String() + "/0?ssl_cert_reqs=none&socket_connect_timeout=30")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = newConnector(t, cfg).Connect(ctx, transports.ConnectOptions{Name: "kelp-dial-test"})
	if err == nil {
		t.Fatal("Connect to a silent TLS server succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Connect: %v, want the ctx's deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Connect took %v with a 300ms ctx", took)
	}
	// goleak retries for about a second: far less than the 30 s
	// handshake timeout a leaked dial would still be waiting for.
	goleak.VerifyNone(t, before)
}
