package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

// DefaultAMQPURL is the RabbitMQ the tests use unless KELP_AMQP_URL says
// otherwise.
const DefaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"

// LinkHeartbeat is the heartbeat of connections made through a [Link] to
// RabbitMQ: a black hole is noticed within about three of them.
const LinkHeartbeat = time.Second

// amqpProbe remembers, for the whole test binary, whether RabbitMQ answered.
var amqpProbe struct {
	once sync.Once
	url  string
	cfg  amqp.Config
	err  error
}

// AMQPURL returns the URL of the test RabbitMQ, skipping t with one line
// when it cannot be reached (failing it under KELP_CI=1).
func AMQPURL(t testing.TB) string {
	t.Helper()
	probeAMQP()
	if amqpProbe.err != nil {
		unavailable(t, fmt.Sprintf("amqp: RabbitMQ not reachable at %s (%v); start it or set %s",
			transports.RedactURL(amqpProbe.url), amqpProbe.err, EnvAMQPURL))
	}
	return amqpProbe.url
}

func probeAMQP() {
	amqpProbe.once.Do(func() {
		p := &amqpProbe
		p.url = os.Getenv(EnvAMQPURL)
		if p.url == "" {
			p.url = DefaultAMQPURL
		}
		if p.cfg, p.err = amqp.ParseURL(p.url); p.err != nil {
			return
		}
		ctr, err := amqp.NewConnector(p.cfg)
		if err != nil {
			p.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err := ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp integration probe"})
		if err != nil {
			p.err = err
			return
		}
		p.err = c.Close(ctx)
	})
}

// amqpBroker is the RabbitMQ target. Broker-side faults go through
// rabbitmqctl, which must run on the broker's machine.
type amqpBroker struct {
	cfg     amqp.Config
	ctr     *amqp.Connector
	stopped bool // by this test's Stop
}

func openAMQP(t testing.TB) Broker {
	t.Helper()
	AMQPURL(t)
	ctr, err := amqp.NewConnector(amqpProbe.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &amqpBroker{cfg: amqpProbe.cfg, ctr: ctr}
}

func (a *amqpBroker) Transport() string               { return "amqp" }
func (a *amqpBroker) Connector() transports.Connector { return a.ctr }

// admin runs fn on a channel of a connection of its own.
func (a *amqpBroker) admin(ctx context.Context, fn func(ch transports.Channel) error) error {
	c, err := a.ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp integration admin"})
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	ch, err := c.Channel(ctx)
	if err != nil {
		return err
	}
	return fn(ch)
}

func (a *amqpBroker) Queue(t testing.TB, label string) route.Queue {
	q := route.NewQueue(Unique(label))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := a.admin(ctx, func(ch transports.Channel) error {
			_, err := ch.QueueDelete(ctx, q.Name, transports.QueueDeleteOptions{})
			return err
		})
		if err != nil {
			t.Errorf("deleting queue %s: %v", q.Name, err)
		}
	})
	return q
}

func (a *amqpBroker) Ready(ctx context.Context, queue string) (int, error) {
	var n int
	err := a.admin(ctx, func(ch transports.Channel) error {
		info, err := ch.QueueDeclare(ctx, route.Queue{Name: queue, Passive: true})
		n = info.Messages
		return err
	})
	return n, err
}

func (a *amqpBroker) CloseConnections(t testing.TB, name string) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(rabbitmqctl(t, "list_connections", "pid", "client_properties")) {
		pid, props, ok := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		if ok && strings.Contains(props, `{"connection_name","`+name+`"}`) {
			rabbitmqctl(t, "close_connection", pid, "kelp integration test")
			n++
		}
	}
	return n
}

// Stop stops the RabbitMQ application (rabbitmqctl stop_app): the node
// closes every connection, of every test on the machine, so keep the time
// until Start short.
func (a *amqpBroker) Stop(t testing.TB) {
	t.Helper()
	Disruptive(t)
	t.Cleanup(func() { a.Start(t) })
	a.stopped = true
	rabbitmqctl(t, "stop_app")
}

func (a *amqpBroker) Start(t testing.TB) {
	t.Helper()
	if !a.stopped {
		return
	}
	rabbitmqctl(t, "start_app")
	a.stopped = false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.admin(ctx, func(transports.Channel) error { return nil }); err != nil {
		t.Fatalf("RabbitMQ not back after start_app: %v", err)
	}
}

// Alarm sets RabbitMQ's memory high watermark so low that the memory
// alarm fires at once and the node blocks every publishing connection of
// the machine; clear restores the watermark read first (a relative
// fraction, or an absolute number of bytes).
func (a *amqpBroker) Alarm(t testing.TB) func() {
	t.Helper()
	Disruptive(t)
	prev := strings.TrimSpace(rabbitmqctl(t, "eval", "vm_memory_monitor:get_vm_memory_high_watermark()."))
	restore := []string{"set_vm_memory_high_watermark"}
	if abs, ok := strings.CutPrefix(prev, "{absolute,"); ok {
		restore = append(restore, "absolute", strings.TrimSuffix(abs, "}"))
	} else if _, err := strconv.ParseFloat(prev, 64); err == nil {
		restore = append(restore, prev)
	} else {
		t.Fatalf("rabbitmqctl: unexpected memory high watermark %q", prev)
	}
	var once sync.Once
	clear := func() { once.Do(func() { rabbitmqctl(t, restore...) }) }
	t.Cleanup(clear)
	rabbitmqctl(t, "set_vm_memory_high_watermark", "0.0000001")
	return clear
}

// rabbitmqctl runs rabbitmqctl and returns its output, skipping t when the
// tool is missing (a remote broker; fails under KELP_CI=1).
func rabbitmqctl(t testing.TB, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		unavailable(t, fmt.Sprintf("amqp: rabbitmqctl not found (%v): broker-side faults need it", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, append([]string{"-s"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Link returns a [Proxy] to RabbitMQ whose connector dials it with a
// heartbeat of [LinkHeartbeat].
func (a *amqpBroker) Link(t testing.TB) Link {
	t.Helper()
	cfg := a.cfg
	host, port := cfg.Host, cfg.Port
	if host == "" {
		host = amqp.DefaultHost
	}
	if port == 0 {
		port = amqp.DefaultPort
		if cfg.TLS != nil {
			port = amqp.DefaultTLSPort
		}
	}
	p, err := NewProxy(net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if cfg.TLS != nil && cfg.TLS.ServerName == "" {
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.ServerName = host
	}
	cfg.Host, cfg.Port = p.Host(), p.Port()
	cfg.Heartbeat = LinkHeartbeat
	cfg.ConnectTimeout = 3 * time.Second
	ctr, err := amqp.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return proxyLink{Proxy: p, ctr: ctr}
}

// proxyLink is a Link through a Proxy.
type proxyLink struct {
	*Proxy
	ctr transports.Connector
}

func (l proxyLink) Connector() transports.Connector { return l.ctr }
func (l proxyLink) Hold() bool                      { l.Proxy.Hold(); return true }
