package amqp_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

// The integration-test convention shared by every transport: the broker is
// found at its default local address unless an environment variable says
// otherwise; when it cannot be reached the tests skip with one clear line,
// except under KELP_CI=1 (set by .ci/run), where they fail.
const (
	envURL      = "KELP_AMQP_URL"
	envCI       = "KELP_CI"
	defaultURL  = "amqp://guest:guest@127.0.0.1:5672/"
	probeWindow = 3 * time.Second
)

var probe struct {
	once sync.Once
	url  string
	err  error
}

// brokerURL returns the URL of the RabbitMQ the tests use, skipping (or,
// under KELP_CI=1, failing) the test when it cannot be reached.
func brokerURL(t testing.TB) string {
	t.Helper()
	probe.once.Do(func() {
		probe.url = os.Getenv(envURL)
		if probe.url == "" {
			probe.url = defaultURL
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeWindow)
		defer cancel()
		c, err := connectURL(ctx, probe.url, "kelp probe")
		if err != nil {
			probe.err = err
			return
		}
		probe.err = c.Close(ctx)
	})
	if probe.err != nil {
		msg := fmt.Sprintf("RabbitMQ not reachable at %s (%v); start it or set %s",
			transports.RedactURL(probe.url), probe.err, envURL)
		if os.Getenv(envCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return probe.url
}

func connectURL(ctx context.Context, url, name string) (transports.Conn, error) {
	ctr, err := transports.OpenConnector(url)
	if err != nil {
		return nil, err
	}
	return ctr.Connect(ctx, transports.ConnectOptions{Name: name})
}

// brokerConfig returns the Config of the test broker, for tests that change
// a field.
func brokerConfig(t testing.TB) amqp.Config {
	t.Helper()
	cfg, err := amqp.ParseURL(brokerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testCtx returns a context that bounds a test: every wait of the test ends
// when it does.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// unique returns a queue or exchange name no other test run uses.
func unique(label string) string {
	return "kelp.amqptest." + label + "." + strings.ToLower(rand.Text()[:10])
}

// dial connects to the test broker and closes the connection when the test
// ends.
func dial(t testing.TB, ctx context.Context) transports.Conn {
	t.Helper()
	c, err := connectURL(ctx, brokerURL(t), t.Name())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { closeConn(t, c) })
	return c
}

func closeConn(t testing.TB, c transports.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Conn.Close: %v", err)
	}
}

// open connects and opens a channel.
func open(t testing.TB, ctx context.Context) (transports.Conn, transports.Channel) {
	t.Helper()
	c := dial(t, ctx)
	ch, err := c.Channel(ctx)
	if err != nil {
		t.Fatalf("Conn.Channel: %v", err)
	}
	return c, ch
}

// cleanup deletes queues and exchanges at the end of a test, through a
// connection of its own.
func cleanup(t testing.TB, queues, exchanges []string) {
	t.Helper()
	url := brokerURL(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := connectURL(ctx, url, t.Name()+" cleanup")
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.Close(ctx)
		ch, err := c.Channel(ctx)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, q := range queues {
			if _, err := ch.QueueDelete(ctx, q, transports.QueueDeleteOptions{}); err != nil {
				t.Errorf("cleanup: delete queue %s: %v", q, err)
			}
		}
		for _, e := range exchanges {
			if err := ch.ExchangeDelete(ctx, e, false); err != nil {
				t.Errorf("cleanup: delete exchange %s: %v", e, err)
			}
		}
	})
}

// declareQueue declares a transient queue that is deleted when the test
// ends.
func declareQueue(t testing.TB, ctx context.Context, ch transports.Channel, q route.Queue) string {
	t.Helper()
	info, err := ch.QueueDeclare(ctx, q)
	if err != nil {
		t.Fatalf("QueueDeclare(%q): %v", q.Name, err)
	}
	cleanup(t, []string{info.Name}, nil)
	return info.Name
}

// declareExchange declares an exchange that is deleted when the test ends.
func declareExchange(t testing.TB, ctx context.Context, ch transports.Channel, ex route.Exchange) {
	t.Helper()
	if err := ch.ExchangeDeclare(ctx, ex); err != nil {
		t.Fatalf("ExchangeDeclare(%q): %v", ex.Name, err)
	}
	cleanup(t, nil, []string{ex.Name})
}

// rabbitmqctl runs rabbitmqctl, skipping the test when it is not available
// (a remote broker) unless KELP_CI=1.
func rabbitmqctl(t testing.TB, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		if os.Getenv(envCI) == "1" {
			t.Fatalf("rabbitmqctl not found: %v", err)
		}
		t.Skipf("rabbitmqctl not found (%v): broker-side fault tests need it", err)
	}
	out, err := exec.Command(path, append([]string{"-s"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// brokerConnections returns the client properties of every connection the
// broker has whose connection_name is name, by connection pid.
func brokerConnections(t testing.TB, name string) map[string]string {
	t.Helper()
	found := map[string]string{}
	for line := range strings.Lines(rabbitmqctl(t, "list_connections", "pid", "client_properties")) {
		pid, props, ok := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		if ok && strings.Contains(props, `{"connection_name","`+name+`"}`) {
			found[pid] = props
		}
	}
	return found
}

// closeConnectionByName closes, from the broker side, every connection
// whose connection_name is name, and returns how many it closed.
func closeConnectionByName(t testing.TB, name string) int {
	t.Helper()
	conns := brokerConnections(t, name)
	for pid := range conns {
		rabbitmqctl(t, "close_connection", pid, "kelp fault test")
	}
	return len(conns)
}

// waitClosed waits for a Done channel, failing the test when ctx ends first.
func waitClosed(t testing.TB, ctx context.Context, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s: not closed: %v", what, ctx.Err())
	}
}

// wantErr fails the test unless err matches every target.
func wantErr(t testing.TB, err error, what string, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one matching %v", what, targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: %v does not match %v", what, err, target)
		}
	}
}

// eventually polls cond until it holds, for what no signal reports (the
// broker's message counts), failing the test when ctx ends first.
func eventually(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	delay := time.Millisecond
	for !cond() {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			t.Fatalf("%s: not within the test's time", what)
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}
