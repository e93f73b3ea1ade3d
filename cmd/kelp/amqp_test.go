package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
)

// The RabbitMQ tests find the broker at its default local address (or
// KELP_AMQP_URL) and skip when it is not there, except under KELP_CI=1,
// where they fail.
const (
	defaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"
	envAMQPURL     = "KELP_AMQP_URL"
	envCI          = "KELP_CI"
)

var amqpProbe struct {
	once sync.Once
	url  string
	err  error
}

// amqpURL returns the URL of a reachable RabbitMQ, or skips the test.
func amqpURL(t *testing.T) string {
	t.Helper()
	amqpProbe.once.Do(func() {
		amqpProbe.url = os.Getenv(envAMQPURL)
		if amqpProbe.url == "" {
			amqpProbe.url = defaultAMQPURL
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err := conn.DialConfig(ctx, amqpProbe.url, conn.Config{Reconnect: conn.Backoff{MaxAttempts: 1}})
		if err != nil {
			amqpProbe.err = err
			return
		}
		amqpProbe.err = c.Close(ctx)
	})
	if amqpProbe.err != nil {
		msg := fmt.Sprintf("RabbitMQ not reachable at %s (%v); start it or set %s",
			transports.RedactURL(amqpProbe.url), amqpProbe.err, envAMQPURL)
		if os.Getenv(envCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return amqpProbe.url
}

// uniqueName returns a name no other test run uses, and deletes the queue
// and exchange of that name (and name+".x") when the test ends.
func uniqueName(t *testing.T, url string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kelp-cmd-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := conn.Dial(ctx, url)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.QueueDelete(ctx, name, conn.QueueDeleteOptions{}); err != nil {
			t.Errorf("cleanup: deleting queue %s: %v", name, err)
		}
		if err := c.ExchangeDelete(ctx, name+".x", false); err != nil {
			t.Errorf("cleanup: deleting exchange %s.x: %v", name, err)
		}
	})
	return name
}

// TestAMQPPublishConsume runs publish and consume as separate processes
// against RabbitMQ: a topic binding made by consume, publishes with
// options and from stdin, a consumer that is already waiting when the
// publisher runs, and a timeout.
func TestAMQPPublishConsume(t *testing.T) {
	url := amqpURL(t)
	q := uniqueName(t, url)
	x := q + ".x"

	execKelp(t, "", "consume", "--url", url, "--queue", q, "--exchange", x, "--type", "topic",
		"--routing-key", "orders.#", "--timeout", "100ms").wantOK(t)

	r := execKelp(t, "", "publish", "--url", url, "--exchange", x, "--routing-key", "orders.new",
		"--header", "trace=t1", "--priority", "3", "--compression", "zlib", "--mandatory", `{"id": 1}`)
	r.wantOK(t)
	if want := fmt.Sprintf("published 1 message to exchange %q, routing key %q\n", x, "orders.new"); r.stdout != want {
		t.Errorf("publish printed %q, want %q", r.stdout, want)
	}
	// The URL from the environment this time.
	execKelpURL(t, url, "a\nb\n", "publish", "--exchange", x, "--routing-key", "orders.old",
		"--serializer", "text", "-").wantOK(t)
	execKelp(t, "", "publish", "--url", url, "--exchange", x, "--routing-key", "refunds", "--mandatory", "1").
		wantFailure(t, exitFailure, "unroutable")

	r = execKelp(t, "", "consume", "--url", url, "--queue", q, "--count", "3", "--timeout", "10s")
	r.wantOK(t)
	rs := records(t, r.stdout)
	if len(rs) != 3 {
		t.Fatalf("consume printed %d records, want 3:\n%s", len(rs), r.stdout)
	}
	first := rs[0]
	if compact(t, first["body"]) != `{"id":1}` || field(first, "headers", "trace") != "t1" ||
		field(first, "headers", "compression") != "application/x-gzip" ||
		field(first, "properties", "priority") != 3.0 || field(first, "properties", "content_type") != "application/json" ||
		field(first, "delivery_info", "exchange") != x || field(first, "delivery_info", "routing_key") != "orders.new" ||
		field(first, "delivery_info", "queue") != q {
		t.Errorf("first record is %v", first)
	}
	for i, want := range []string{"a", "b"} {
		if rec := rs[i+1]; rec["body"] != want || field(rec, "properties", "content_type") != "text/plain" {
			t.Errorf("record %d is %v, want text %q", i+1, rec, want)
		}
	}

	// A consumer in its own process, started before the publisher, gets
	// what another process publishes.
	waiting := make(chan result, 1)
	go func() {
		waiting <- execKelpURL(t, url, "", "consume", "--queue", q, "--count", "2", "--timeout", "30s", "--format", "body")
	}()
	execKelp(t, "", "publish", "--url", url, "--exchange", x, "--routing-key", "orders.late", "--count", "2", `"late"`).wantOK(t)
	r = <-waiting
	r.wantOK(t)
	if r.stdout != "\"late\"\n\"late\"\n" {
		t.Errorf("waiting consumer printed %q, want two \"late\" lines", r.stdout)
	}

	execKelp(t, "", "consume", "--url", url, "--queue", q, "--count", "1", "--timeout", "200ms").
		wantFailure(t, exitFailure, "timed out after 200ms: received 0 of 1 message")
}

// TestAMQPRefusedLogin checks that wrong credentials fail at once with one
// line that names the refusal and hides the password.
func TestAMQPRefusedLogin(t *testing.T) {
	u, err := url.Parse(amqpURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("kelp-no-such-user", refusedPassword)
	r := execKelp(t, "", "publish", "--url", u.String(), "1")
	r.wantFailure(t, exitFailure, "ACCESS_REFUSED")
	if strings.Contains(r.stderr, refusedPassword) {
		t.Errorf("stderr shows the password: %q", r.stderr)
	}
}
