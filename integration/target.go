package integration

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Environment variables of the integration-test convention, shared by
// every transport.
const (
	// EnvCI, set to "1" (by .ci/run), turns "broker unreachable" skips
	// into failures.
	EnvCI = "KELP_CI"
	// EnvAMQPURL overrides the URL of the RabbitMQ the tests use,
	// [DefaultAMQPURL] by default.
	EnvAMQPURL = "KELP_AMQP_URL"
	// EnvDisruptive, set to "1", lets tests restart shared brokers (see
	// [Disruptive]). .ci/run sets it in a serial step of its own that runs
	// the tests named TestDisruptive*.
	EnvDisruptive = "KELP_DISRUPTIVE"
)

// Disruptive skips t unless KELP_DISRUPTIVE=1: t stops or pauses a broker
// that other packages' tests share, which would fail them if they ran at
// the same time. Name such tests TestDisruptive* so that .ci/run runs
// them, one package at a time.
func Disruptive(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvDisruptive) != "1" {
		t.Skipf("disrupts a shared broker: runs only with %s=1, one package at a time", EnvDisruptive)
	}
}

// Broker is one test's handle on the broker of a [Target]: how to reach it
// and the faults it can inject. A Broker belongs to the test that opened
// it; what it creates is removed when that test ends.
type Broker interface {
	// Transport names the transport: "memory", "amqp", "redis".
	Transport() string

	// Connector dials the broker directly.
	Connector() transports.Connector

	// Link returns a new network path to the broker, with its own
	// connector, on which network faults are injected (a [Proxy] for
	// network transports). It is closed when the test ends.
	Link(t testing.TB) Link

	// Queue returns a durable queue with a name no other test uses; it is
	// deleted when the test ends.
	Queue(t testing.TB, label string) route.Queue

	// Ready returns the number of ready messages in a queue.
	Ready(ctx context.Context, queue string) (int, error)

	// CloseConnections closes, from the broker's side, every connection
	// whose connection name is name (see conn.Config.Name) and returns how
	// many it closed. The clients see a forced close (AMQP's 320).
	CloseConnections(t testing.TB, name string) int

	// Stop stops the broker as a node restart does: every connection is
	// closed and new ones are refused until [Broker.Start]. Messages in
	// durable queues survive. The broker is started again when the test
	// ends, even if the test fails. Stopping a shared broker (RabbitMQ)
	// skips the test unless KELP_DISRUPTIVE=1 ([Disruptive]).
	Stop(t testing.TB)

	// Start starts the broker after [Broker.Stop] and returns once it
	// accepts connections. Starting a running broker does nothing.
	Start(t testing.TB)

	// Alarm raises a resource alarm: the broker blocks publishing
	// connections (AMQP's connection.blocked) until clear is called, at
	// the latest when the test ends. On RabbitMQ it sets the memory high
	// watermark to a tiny value and restores the value it read first, so
	// it needs KELP_DISRUPTIVE=1 ([Disruptive]); on memory it is
	// memory.Broker.Block.
	Alarm(t testing.TB) (clear func())
}

// Link is a network path to a broker on which tests inject faults. Every
// method returns once the fault is in effect.
type Link interface {
	// Connector dials the broker through the link. Its connections
	// notice a silent path within a few seconds (short heartbeats).
	Connector() transports.Connector

	// Cut kills every connection through the link as a network failure
	// would and returns how many there were. New connections succeed.
	Cut() int

	// SetDown(true) makes the broker unreachable through the link: live
	// connections are cut and new ones fail, until SetDown(false).
	SetDown(down bool)

	// Refused returns the number of connection attempts that failed
	// because the link was down.
	Refused() int

	// WaitRefused waits until n connection attempts in total have failed
	// because the link was down, or ctx ends.
	WaitRefused(ctx context.Context, n int) error

	// Hold black-holes the link: nothing passes and nothing is closed
	// until Release. It reports false, doing nothing, on a transport
	// without a network (memory).
	Hold() bool

	// Release ends a Hold.
	Release()
}

// NetLink is a [Link] over a real network path (a [Proxy]), with the
// faults only a network has. The Links of network transports implement
// it; memory's do not.
type NetLink interface {
	Link
	// Reset kills every connection through the link with a TCP reset and
	// returns how many there were.
	Reset() int
	// Shape slows the link down (latency, jitter, bandwidth) until the
	// next call; the zero Shape restores it.
	Shape(Shape)
	// CutAfter kills the connection that carries the next n bytes right
	// after them, mid-frame; the channel closes when it fired.
	CutAfter(n int64) <-chan struct{}
}

// Target is a transport the integration tests run on.
type Target struct {
	// Name names the transport in subtest names.
	Name string
	// Open returns a Broker for t, or skips t with one line saying why
	// the broker cannot be reached (fails it instead under KELP_CI=1).
	Open func(t testing.TB) Broker
}

// Targets returns the transports the integration tests run on: memory
// always, then AMQP (RabbitMQ) and Redis, which skip when unreachable.
func Targets() []Target {
	return []Target{
		{Name: "memory", Open: openMemory},
		{Name: "amqp", Open: openAMQP},
		{Name: "redis", Open: openRedis},
	}
}

// Run runs fn as a subtest on each of [Targets], one at a time, each
// checked for goroutine leaks ([NoLeaks]).
func Run(t *testing.T, fn func(t *testing.T, b Broker)) {
	t.Helper()
	for _, tg := range Targets() {
		t.Run(tg.Name, func(t *testing.T) {
			NoLeaks(t)
			fn(t, tg.Open(t))
		})
	}
}

// Unsettled returns, for [Flow.Finish], a count of what b still holds of
// a queue once its consumers stopped: the ready messages and, on Redis,
// the claims of the test's key prefix (a claim whose reply a fault lost
// comes back to its queue later, when the driver restores it).
func Unsettled(b Broker) func(ctx context.Context, queue string) (int, error) {
	cl, ok := b.(interface {
		Claims(ctx context.Context) (int, error)
	})
	if !ok {
		return b.Ready
	}
	return func(ctx context.Context, queue string) (int, error) {
		n, err := b.Ready(ctx, queue)
		if err != nil || n > 0 {
			return n, err
		}
		return cl.Claims(ctx)
	}
}

// unavailable skips t because what is needed is missing, or fails it when
// KELP_CI=1 says every broker must be there.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvCI) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// errStopped is the refusal of a stopped memory broker.
var errStopped = errors.New("integration: broker stopped")
