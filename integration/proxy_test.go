package integration_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/integration"
)

// echoServer answers every line with the same line until closed.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T) *integration.Proxy {
	t.Helper()
	p, err := integration.NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// dialEcho connects through p; roundTrip sends a line and reads it back.
func dialEcho(t *testing.T, p *integration.Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func roundTrip(c net.Conn, r *bufio.Reader, deadline time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(deadline)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err == nil && line != "ping\n" {
		return errors.New("echo garbled: " + line)
	}
	return err
}

func TestProxy(t *testing.T) {
	integration.NoLeaks(t)
	t.Run("forwards", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cut", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if n := p.Cut(); n != 1 {
			t.Fatalf("Cut closed %d connections, want 1", n)
		}
		if err := roundTrip(c, r, 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("round trip after Cut: %v, want the connection closed", err)
		}
		c2, r2 := dialEcho(t, p)
		if err := roundTrip(c2, r2, 5*time.Second); err != nil {
			t.Fatalf("a new connection after Cut: %v", err)
		}
	})
	t.Run("hold", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		p.Hold()
		// Nothing comes back while held; the short deadline only bounds
		// how long the silence is observed.
		if err := roundTrip(c, r, 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("round trip while held: %v, want silence", err)
		}
		p.Release()
		if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("after Release: %q, %v; want the held line", line, err)
		}
	})
	t.Run("down", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		p.SetDown(true)
		if err := roundTrip(c, r, 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("live connection when down: %v, want it cut", err)
		}
		for i := range 3 {
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				continue // reset before the handshake completed: refused too
			}
			err = roundTrip(c, bufio.NewReader(c), 5*time.Second)
			c.Close()
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("attempt %d while down: %v, want it reset", i, err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := p.WaitRefused(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if n := p.Refused(); n != 3 {
			t.Fatalf("Refused = %d, want 3", n)
		}
		p.SetDown(false)
		c2, r2 := dialEcho(t, p)
		if err := roundTrip(c2, r2, 5*time.Second); err != nil {
			t.Fatalf("after SetDown(false): %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		p := newProxy(t)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitRefused(t.Context(), 1); !errors.Is(err, integration.ErrProxyClosed) {
			t.Fatalf("WaitRefused on a closed proxy: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}
