package integration_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
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
	t.Run("reset", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if n := p.Reset(); n != 1 {
			t.Fatalf("Reset closed %d connections, want 1", n)
		}
		if err := roundTrip(c, r, 5*time.Second); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("round trip after Reset: %v, want a connection reset", err)
		}
		c2, r2 := dialEcho(t, p)
		if err := roundTrip(c2, r2, 5*time.Second); err != nil {
			t.Fatalf("a new connection after Reset: %v", err)
		}
	})
	t.Run("shape", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		const latency = 50 * time.Millisecond
		p.Shape(integration.Shape{Latency: latency, Jitter: 10 * time.Millisecond})
		start := time.Now()
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		// A lower bound only: the path is at least as slow as asked.
		if took := time.Since(start); took < 2*latency {
			t.Fatalf("round trip with %v latency each way took %v", latency, took)
		}
		const bw, size = 8 << 10, 4 << 10 // 4 KiB at 8 KiB/s; the echo streams back as it arrives
		p.Shape(integration.Shape{Bandwidth: bw})
		start = time.Now()
		line := make([]byte, size)
		for i := range line {
			line[i] = 'x'
		}
		line[size-1] = '\n'
		if _, err := c.Write(line); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil || len(got) != size {
			t.Fatalf("read %d bytes (%v), want %d", len(got), err, size)
		}
		if took, want := time.Since(start), size*time.Second/bw; took < want*9/10 {
			t.Fatalf("%d bytes at %d B/s took %v, want at least %v", size, bw, took, want)
		}
		p.Shape(integration.Shape{})
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cut after", func(t *testing.T) {
		p := newProxy(t)
		c, r := dialEcho(t, p)
		fired := p.CutAfter(13) // one round trip (10 bytes), then 3 bytes of the next
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		select {
		case <-fired:
			t.Fatal("the cut fired before its bytes went through")
		default:
		}
		if err := roundTrip(c, r, 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("round trip across the cut: %v, want the connection closed", err)
		}
		<-fired
		c2, r2 := dialEcho(t, p)
		if err := roundTrip(c2, r2, 5*time.Second); err != nil {
			t.Fatalf("a new connection after the cut: %v", err)
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
