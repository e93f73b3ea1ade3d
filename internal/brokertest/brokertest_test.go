package brokertest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

func TestBrokersOrderAndDefaults(t *testing.T) {
	var names []string
	for _, b := range Brokers(Config{}) {
		names = append(names, b.Name)
		if b.cfg.Label != "kelptest" || b.cfg.RedisDB != DefaultRedisDB {
			t.Errorf("%s: defaults not filled: %+v", b.Name, b.cfg)
		}
	}
	if want := []string{"memory", "amqp", "redis"}; !slices.Equal(names, want) {
		t.Fatalf("Brokers = %v, want %v", names, want)
	}
}

func TestRedisURL(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		db     int
		prefix string
		want   string
	}{
		{"redis://127.0.0.1:6379", 11, "", "redis://127.0.0.1:6379/11"},
		{"redis://127.0.0.1:6379/", 9, "", "redis://127.0.0.1:6379/9"},
		{"redis://127.0.0.1:6379/3", 9, "", "redis://127.0.0.1:6379/9"},
		{"redis://127.0.0.1:6379/14", 9, "", "redis://127.0.0.1:6379/14"},
		{"redis://:pw@h:1/0?socket_timeout=2", 10, "p:x:", "redis://:pw@h:1/10?global_keyprefix=p%3Ax%3A&socket_timeout=2"},
		{"redis+socket:///tmp/r.sock", 12, "", "redis+socket:///tmp/r.sock?virtual_host=12"},
	} {
		got, err := redisURL(tc.raw, tc.db, tc.prefix)
		if err != nil || got != tc.want {
			t.Errorf("redisURL(%q, %d, %q) = %q, %v; want %q", tc.raw, tc.db, tc.prefix, got, err, tc.want)
		}
	}
	if _, err := redisURL("redis://h:notaport", 9, ""); err == nil {
		t.Error("redisURL accepted a bad port")
	}
}

// A memory Target's URL and Connector reach the same broker, private to
// the test.
func TestMemoryTarget(t *testing.T) {
	tg := Open(t, "memory", Config{Label: "self"})
	if tg.Name() != "memory" || !strings.HasPrefix(tg.URL(), "memory://self-") {
		t.Fatalf("memory target %q at %q", tg.Name(), tg.URL())
	}
	ctx := Ctx(t)
	q := tg.Queue(t, "mem")
	if !strings.HasPrefix(q.Name, "kelp.it.mem.") {
		t.Fatalf("Queue name %q", q.Name)
	}
	if err := tg.Dial(t).Declare(ctx, q); err != nil {
		t.Fatal(err)
	}
	c, err := conn.Open(ctx, tg.Connector(), conn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.DeclareQueue(ctx, route.Queue{Name: q.Name, Passive: true}); err != nil {
		t.Fatalf("queue declared through URL not seen through Connector: %v", err)
	}
	if other := Open(t, "memory", Config{Label: "self"}); other.URL() == tg.URL() {
		t.Fatal("two memory targets share a broker")
	}
}

func TestRunNamesSubtests(t *testing.T) {
	var ran []string
	t.Run("inner", func(t *testing.T) {
		Run(t, Config{}, func(t *testing.T, tg *Target) {
			ran = append(ran, t.Name()[strings.LastIndex(t.Name(), "/")+1:]+"="+tg.Name())
		})
	})
	// Unreachable network brokers skip (outside CI), so only memory is sure.
	if len(ran) == 0 || ran[0] != "memory=memory" {
		t.Fatalf("Run ran %v", ran)
	}
	for _, r := range ran {
		name, tr, _ := strings.Cut(r, "=")
		if name != tr {
			t.Errorf("subtest %s ran on %s", name, tr)
		}
	}
}

func TestOpenUnknown(t *testing.T) {
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Open(ft, "nats", Config{})
	}()
	<-done
	if !strings.Contains(ft.msg, `no broker "nats"`) {
		t.Fatalf("Open of an unknown broker: %q", ft.msg)
	}
}

// fatalTB records a Fatal and ends the goroutine, as testing does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
