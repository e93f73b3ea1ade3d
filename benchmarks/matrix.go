package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/kelpmq/kelp/conn"
)

// Sizes are the body sizes of every scenario.
var Sizes = []int{16, 1 << 10, 64 << 10}

// Broker is one transport of the matrix: where it runs and which
// implementations run on it. Adding a transport is one more Broker.
type Broker struct {
	Transport string
	URL       string // the kelp URL; "" leaves the transport out
	// Targets are kelp and the raw and peer implementations on it.
	Targets []Target
	// Messages is the message count of a run at 1 KiB and below; 64 KiB
	// runs do a fifth of it.
	Messages int
	// Bindings are the topic-routing runs (virtual transports only).
	Bindings []int
}

// Brokers returns the matrix of the issue: memory (kelp, Watermill's
// GoChannel), AMQP (kelp, amqp091-go, watermill-amqp) and Redis (kelp,
// go-redis), with counts scaled by scale. An empty URL leaves that broker
// out.
func Brokers(amqpURL, redisURL string, scale float64) []Broker {
	n := func(m int) int { return max(int(float64(m)*scale), 10) }
	bs := []Broker{{
		Transport: "memory", URL: "memory://" + Unique("bench"), Messages: n(50000),
		Bindings: []int{10, 1000, 100000},
	}}
	bs[0].Targets = []Target{Kelp("memory", bs[0].URL), WatermillGoChannel()}
	if amqpURL != "" {
		bs = append(bs, Broker{Transport: "amqp", URL: amqpURL, Messages: n(10000),
			Targets: []Target{Kelp("amqp", amqpURL), AMQP091(amqpURL), WatermillAMQP(amqpURL),
				Kombu("amqp", amqpURL, AMQP091(amqpURL))}})
	}
	if redisURL != "" {
		bs = append(bs, Broker{Transport: "redis", URL: redisURL, Messages: n(4000), Bindings: []int{10, 1000},
			Targets: []Target{Kelp("redis", redisURL), GoRedis(redisURL), Kombu("redis", redisURL, GoRedis(redisURL))}})
	}
	return bs
}

// LatencyRate is the fixed publish rate of the latency scenario.
const LatencyRate = 5000

// Workloads returns every workload of b, in report order.
func (b Broker) Workloads() []Workload {
	var ws []Workload
	for _, size := range Sizes {
		n := b.Messages
		if size > 1<<10 {
			n = max(n/5, 10)
		}
		for _, confirm := range []bool{true, false} {
			for _, p := range []int{1, 8} {
				ws = append(ws, Workload{Scenario: ScenarioPublish, Size: size, Messages: n, Publishers: p, Confirm: confirm})
			}
		}
		for _, prefetch := range []int{1, 100, 1000} {
			m := n
			if prefetch == 1 {
				m = max(n/5, 10) // a round trip per message
			}
			ws = append(ws, Workload{Scenario: ScenarioConsume, Size: size, Messages: m, Prefetch: prefetch})
		}
		ws = append(ws,
			Workload{Scenario: ScenarioEndToEnd, Size: size, Messages: n, Publishers: 8, Confirm: true, Prefetch: conn.DefaultPrefetch},
			Workload{Scenario: ScenarioLatency, Size: size, Messages: min(n, LatencyRate), Rate: LatencyRate, Confirm: true, Prefetch: conn.DefaultPrefetch},
		)
	}
	for _, bindings := range b.Bindings {
		ws = append(ws, Workload{Scenario: ScenarioRoute, Size: 1 << 10, Messages: b.Messages, Publishers: 8, Confirm: true, Bindings: bindings})
	}
	return ws
}

// Reachable reports whether kelp can connect to b within timeout.
func (b Broker) Reachable(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := conn.DialConfig(ctx, b.URL, conn.Config{Reconnect: conn.Backoff{MaxAttempts: 1}})
	if err != nil {
		return fmt.Errorf("benchmarks: %s at %s: %w", b.Transport, conn.URL{Addrs: []string{b.URL}}, err)
	}
	return c.Close(ctx)
}

// RunAll runs every workload of every broker on each of its targets, in
// turn (never two at once), calling progress (when not nil) after each
// run. Workloads a target does not support are left out.
func RunAll(ctx context.Context, brokers []Broker, progress func(Result)) []Result {
	var rs []Result
	for _, b := range brokers {
		for _, w := range b.Workloads() {
			for _, t := range b.Targets {
				r := Run(ctx, t, w)
				if r.Err == ErrUnsupported.Error() {
					continue
				}
				if progress != nil {
					progress(r)
				}
				rs = append(rs, r)
			}
		}
	}
	return rs
}
