package benchmarks_test

import (
	"os"
	"testing"
	"time"

	"github.com/kelpmq/kelp/benchmarks"
	"github.com/kelpmq/kelp/integration"
)

// amqpURL returns the RabbitMQ URL of the harness tests.
func amqpURL() string {
	if u := os.Getenv(integration.EnvAMQPURL); u != "" {
		return u
	}
	return integration.DefaultAMQPURL
}

// redisURL returns the Redis URL of the harness tests: database 9 of the
// local server, or KELP_BENCH_REDIS_URL.
func redisURL() string {
	if u := os.Getenv("KELP_BENCH_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/9"
}

// TestHarness runs every scenario of the matrix with a handful of messages
// on each implementation, so that the harness is proven to work without
// measuring anything: every run must succeed, and every rate be positive.
func TestHarness(t *testing.T) {
	brokers := benchmarks.Brokers(amqpURL(), redisURL(), 0.002)
	for _, b := range brokers {
		t.Run(b.Transport, func(t *testing.T) {
			if err := b.Reachable(t.Context(), 3*time.Second); err != nil {
				if os.Getenv(integration.EnvCI) != "" {
					t.Fatal(err)
				}
				t.Skip(err)
			}
			b.Bindings = b.Bindings[:min(1, len(b.Bindings))] // the large tables are for the real run
			seen := map[string]bool{}
			for _, r := range benchmarks.RunAll(t.Context(), []benchmarks.Broker{b}, nil) {
				seen[r.Impl] = true
				if r.Err != "" {
					t.Errorf("%s %s: %s", r.Impl, r.Key(), r.Err)
					continue
				}
				if r.MsgPerSec <= 0 {
					t.Errorf("%s %s: rate %v", r.Impl, r.Key(), r.MsgPerSec)
				}
				if r.Scenario == benchmarks.ScenarioLatency && (r.P50 <= 0 || r.P99 < r.P50 || r.P999 < r.P99) {
					t.Errorf("%s %s: percentiles %v %v %v", r.Impl, r.Key(), r.P50, r.P99, r.P999)
				}
			}
			for _, tg := range b.Targets {
				if !seen[tg.Impl] {
					t.Errorf("%s never ran", tg.Impl)
				}
			}
		})
	}
}
