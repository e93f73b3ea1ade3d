package benchmarks_test

import (
	"testing"

	"github.com/kelpmq/kelp/benchmarks"
)

// BenchmarkMemoryEndToEnd runs the end-to-end scenario of the matrix (8
// publishers with confirms, one consumer acking each message, 16 B raw
// bodies) for b.N messages on kelp's memory transport and on Watermill's
// GoChannel: the one to profile for issue 7's memory target.
func BenchmarkMemoryEndToEnd(b *testing.B) {
	w := benchmarks.Workload{Scenario: benchmarks.ScenarioEndToEnd, Size: 16, Publishers: 8, Confirm: true, Prefetch: 100}
	for _, t := range []benchmarks.Target{benchmarks.Kelp("memory", "memory://"+benchmarks.Unique("bench")), benchmarks.WatermillGoChannel()} {
		b.Run("impl="+t.Impl, func(b *testing.B) {
			w.Messages = b.N
			r := benchmarks.Run(b.Context(), t, w)
			if r.Err != "" {
				b.Fatal(r.Err)
			}
			b.ReportMetric(r.MsgPerSec, "msg/s")
			b.ReportMetric(r.AllocsPerMsg, "allocs/msg")
		})
	}
}
