package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/internal/redisproc"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// logRecorder is a slog.Handler that keeps the messages it receives.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) has(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// privateConfig returns a Config for a private server.
func privateConfig(s *redisproc.Server) redis.Config {
	return redis.Config{Addr: s.Addr(), GlobalKeyPrefix: "kelptest:", SocketTimeout: 300 * time.Millisecond,
		SocketConnectTimeout: 300 * time.Millisecond}
}

// waitDead waits until c is dead, up to d, and returns its error.
func waitDead(t *testing.T, c transports.Conn, d time.Duration) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(d):
		t.Fatalf("the Conn is still alive %v after the fault", d)
		return nil
	}
}

// TestHealthCheck proves that a Conn with nothing to do notices a dead
// server (SIGKILL) and a hung one (SIGSTOP) through the health check,
// with an error wrapping ErrConnLost, within the interval plus the
// socket timeout, and that the failure goes to ConnectOptions.Logger.
func TestHealthCheck(t *testing.T) {
	for _, fault := range []string{"kill", "pause"} {
		t.Run(fault, func(t *testing.T) {
			s := redisproc.Start(t, redisproc.Options{})
			cfg := privateConfig(s)
			cfg.HealthCheckInterval = 50 * time.Millisecond
			ctr := newConnector(t, cfg)
			logs := &logRecorder{}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp-hc", Logger: slog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			start := time.Now()
			if fault == "kill" {
				s.Kill()
			} else {
				s.Pause()
				defer s.Resume()
			}
			err = waitDead(t, c, 5*time.Second)
			if !errors.Is(err, transports.ErrConnLost) || !strings.Contains(err.Error(), "health check") {
				t.Fatalf("Err() = %v, want ErrConnLost from the health check", err)
			}
			t.Logf("noticed after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if !logs.has("health check failed") {
				t.Errorf("ConnectOptions.Logger got %q, want the health check failure", logs.msgs)
			}
			// The Connector dials again once the server is back.
			if fault == "kill" {
				s.Start()
			} else {
				s.Resume()
			}
			c2, err := ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp-hc"})
			if err != nil {
				t.Fatalf("Connect after the server came back: %v", err)
			}
			if err := c2.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHealthCheckOff proves that health_check_interval=0 turns the check
// off: an idle Conn over a dead server stays up (until it makes a call).
func TestHealthCheckOff(t *testing.T) {
	s := redisproc.Start(t, redisproc.Options{})
	cfg, err := redis.ParseURL(s.URL() + "?health_check_interval=0&socket_timeout=0.3")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, newConnector(t, cfg))
	s.Kill()
	select {
	case <-c.Done():
		t.Fatalf("the Conn died with the check off: %v", c.Err())
	case <-time.After(500 * time.Millisecond): // 10 intervals of the other test
	}
}
