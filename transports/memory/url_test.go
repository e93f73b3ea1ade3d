package memory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

func TestOpenConnector(t *testing.T) {
	tests := []struct {
		url     string
		addr    string // "" when invalid
		notWant string // text the error must not contain
	}{
		{"memory://", "memory://", ""},
		{"memory:///", "memory://", ""},
		{"memory://url-test-a", "memory://url-test-a", ""},
		{"memory://url-test-a/", "memory://url-test-a", ""},
		{"MEMORY://url-test-a", "memory://url-test-a", ""},
		{"memory://x?prefetch=1", "", ""},
		{"memory://x/vhost", "", ""},
		{"memory://x:5672", "", ""},
		{"memory://user:secret@x", "", "secret"},
		{"memory:opaque", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			c, err := transports.OpenConnector(tc.url)
			if tc.addr == "" {
				if !errors.Is(err, transports.ErrInvalidURL) {
					t.Fatalf("err = %v, want ErrInvalidURL", err)
				}
				if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
					t.Fatalf("error leaks %q: %v", tc.notWant, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Address() != tc.addr {
				t.Fatalf("Address %q, want %q", c.Address(), tc.addr)
			}
		})
	}
}

func TestSharedBrokersByURL(t *testing.T) {
	ctx := context.Background()
	open := func(url string) transports.Channel {
		t.Helper()
		c, err := transports.OpenConnector(url)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := c.Connect(ctx, transports.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close(ctx) })
		ch, err := conn.Channel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	a1, a2, b := open("memory://url-test-shared"), open("memory://url-test-shared"), open("memory://url-test-other")
	if _, err := a1.QueueDeclare(ctx, route.NewQueue("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.QueueDeclare(ctx, route.Queue{Name: "q", Passive: true}); err != nil {
		t.Fatalf("same name, same broker: %v", err)
	}
	if _, err := b.QueueDeclare(ctx, route.Queue{Name: "q", Passive: true}); !errors.Is(err, transports.ErrNotFound) {
		t.Fatalf("another name must be another broker: %v", err)
	}
	if memory.Shared("url-test-shared") != memory.Shared("url-test-shared") {
		t.Fatal("Shared is not stable")
	}
	if _, err := a1.QueueDelete(ctx, "q", transports.QueueDeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
